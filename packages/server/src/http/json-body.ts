import { ServiceError } from '../service-error.js';

/** RFC 8259 §8.1: JSON exchanged between systems is UTF-8; a decoder that substitutes U+FFFD would store what the client never sent. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The text of a JSON body, refusing bytes that are not UTF-8 (MALFORMED_JSON) rather than replacing them. */
export function jsonBodyText(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new ServiceError('MALFORMED_JSON', 'the request body is not UTF-8 (RFC 8259 §8.1)');
  }
}

/** A JSON body, parsed: UTF-8 first, then JSON (MALFORMED_JSON for either). */
export function parseJsonBody(bytes: Uint8Array): unknown {
  const text = jsonBodyText(bytes);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ServiceError('MALFORMED_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}
