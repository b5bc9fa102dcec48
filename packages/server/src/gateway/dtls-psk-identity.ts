/** RFC 4279 §5.3: identities up to 128 octets must be supported; longer ones are refused. */
export const MAX_PSK_IDENTITY_BYTES = 128;
/** Bound on the records examined in one datagram. */
const MAX_RECORDS_PER_DATAGRAM = 16;
const RECORD_HEADER = 13; // RFC 6347 §4.1: type, version, epoch, sequence_number, length
const HANDSHAKE_HEADER = 12; // RFC 6347 §4.2.2: msg_type, length, message_seq, fragment_offset, fragment_length
const CONTENT_HANDSHAKE = 22;
const CLIENT_KEY_EXCHANGE = 16;

/**
 * The psk_identity a client names in its ClientKeyExchange (RFC 4279 §2), read from a plaintext
 * epoch-0 record before OpenSSL sees the datagram: OpenSSL asks for the key synchronously, and
 * the key lives in the store, so the server looks it up first and then lets OpenSSL continue.
 * Only the identity is read; OpenSSL parses and checks the handshake itself. Returns undefined
 * when the datagram holds no first fragment of a ClientKeyExchange, null for an identity that
 * cannot be one of ours (too long, not printable ASCII).
 */
export function pskIdentityIn(datagram: Buffer): string | null | undefined {
  let offset = 0;
  for (let i = 0; i < MAX_RECORDS_PER_DATAGRAM && offset + RECORD_HEADER <= datagram.length; i++) {
    const type = datagram[offset];
    const epoch = datagram.readUInt16BE(offset + 3);
    const length = datagram.readUInt16BE(offset + 11);
    const body = offset + RECORD_HEADER;
    if (body + length > datagram.length) return undefined;
    if (type === CONTENT_HANDSHAKE && epoch === 0 && length >= HANDSHAKE_HEADER + 2 && datagram[body] === CLIENT_KEY_EXCHANGE) {
      const fragmentOffset = datagram.readUIntBE(body + 6, 3);
      if (fragmentOffset !== 0) return undefined;
      const identityLength = datagram.readUInt16BE(body + HANDSHAKE_HEADER);
      const start = body + HANDSHAKE_HEADER + 2;
      if (identityLength > MAX_PSK_IDENTITY_BYTES || start + identityLength > body + length) return null;
      const identity = datagram.subarray(start, start + identityLength);
      if (!identity.every((byte) => byte >= 0x21 && byte <= 0x7e)) return null;
      return identity.toString('ascii');
    }
    offset = body + length;
  }
  return undefined;
}
