import { extensionDer } from './certificate-profile.js';
import { bitStringOf, explicit, sequence, smallInteger, time, tlv, unsignedInteger } from './der/writer.js';
import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';
import type { IssuingAuthority } from './issuer.js';
import { Oid } from './oids.js';

/** One revoked certificate of a CRL being built. */
export interface CrlEntryInput {
  /** The serial's INTEGER content octets (as a parsed certificate holds them). */
  readonly serialNumber: Buffer;
  readonly revocationDate: Date;
  /** RFC 5280 §5.3.1 CRLReason value; left out for `unspecified`, as §5.3.1 recommends. */
  readonly reason?: number | undefined;
}

export interface CrlInput {
  /** cRLNumber: higher than every CRL this issuer published before (RFC 5280 §5.2.3). */
  readonly number: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
  readonly entries: readonly CrlEntryInput[];
}

/** cRLNumber is at most 20 octets. */
const MAX_CRL_NUMBER = (1n << 159n) - 1n;

function bigintOctets(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

/**
 * A complete X.509 v2 CRL (RFC 5280 §5) signed by `issuer`: its name, thisUpdate and
 * nextUpdate, each entry with its reasonCode, and the authorityKeyIdentifier and cRLNumber
 * extensions a conforming CRL carries. The signer may be a key in memory or a token.
 */
export function buildCrl(issuer: Pick<IssuingAuthority, 'certificate' | 'signer' | 'authorityKeyIdExtension'>, input: CrlInput): Buffer {
  if (input.number < 0n || input.number > MAX_CRL_NUMBER) throw new PkiError('INVALID_ARGUMENT', 'a cRLNumber is a non-negative integer of at most 20 octets', { argument: 'number' });
  if (input.nextUpdate.getTime() <= input.thisUpdate.getTime()) throw new PkiError('INVALID_VALIDITY', 'a CRL’s nextUpdate comes after its thisUpdate', { field: 'nextUpdate' });
  const { algorithm } = issuer.signer;
  const entries = input.entries.map((entry) => {
    const fields = [unsignedInteger(entry.serialNumber), time(entry.revocationDate)];
    if (entry.reason !== undefined && entry.reason !== 0) fields.push(sequence([extensionDer(Oid.crlReason, false, tlv(Tag.ENUMERATED, Buffer.from([entry.reason])))]));
    return sequence(fields);
  });
  const tbs = sequence([
    smallInteger(1),
    algorithm.identifier,
    issuer.certificate.subject.der,
    time(input.thisUpdate),
    time(input.nextUpdate),
    ...(entries.length > 0 ? [sequence(entries)] : []),
    explicit(0, sequence([issuer.authorityKeyIdExtension, extensionDer(Oid.crlNumber, false, unsignedInteger(bigintOctets(input.number)))])),
  ]);
  return sequence([tbs, algorithm.identifier, bitStringOf(issuer.signer.sign(tbs))]);
}

