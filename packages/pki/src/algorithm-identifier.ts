import type { DerReader} from './der/reader.js';
import { oidString, readerOver, type DerElement } from './der/reader.js';
import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';

/** AlgorithmIdentifier (RFC 5280 §4.1.1.2) with its exact encoding kept for comparisons. */
export interface AlgorithmIdentifier {
  readonly oid: string;
  readonly parameters: DerElement | undefined;
  readonly der: Buffer;
}

export function parseAlgorithmIdentifier(el: DerElement, what: string): AlgorithmIdentifier {
  if (el.tag !== Tag.SEQUENCE) throw new PkiError('DER_MALFORMED', `${what}: expected AlgorithmIdentifier`, { what });
  const reader: DerReader = readerOver(el, what);
  const oid = oidString(reader.read(), what);
  const parameters = reader.atEnd() ? undefined : reader.read();
  reader.expectEnd('algorithm parameters');
  return { oid, parameters, der: el.encoded };
}
