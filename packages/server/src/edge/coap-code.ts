/**
 * The CoAP response code of an HTTP status (RFC 7252 §5.9 and RFC 8132, which adds 4.09 and
 * 4.22): the one table of statuses serves both protocols.
 */
export function coapCodeFor(status: number): `${number}.${string}` {
  return `${Math.floor(status / 100)}.${String(status % 100).padStart(2, '0')}`;
}
