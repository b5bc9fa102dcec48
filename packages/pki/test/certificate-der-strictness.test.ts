import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeRoot, T0 } from '@fleetpki/test-support';
import { decodeObjects, encodePem, parseCertificate, type PkiErrorCode } from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';
import {
  certificateExtensions,
  children,
  EXT_OID,
  extensionOid,
  joinSigned,
  mapExtension,
  mapTbsField,
  seq,
  single,
  splitSigned,
  tlv,
  withExtensions,
} from './helpers/der.js';

/**
 * parseCertificate on certificates that are one DER rule away from a valid one. The base is a
 * CA made by createSelfSignedCa; each case edits its bytes. Signatures are left stale on
 * purpose: parsing must reject the encoding before anyone looks at a signature.
 */
const root = makeRoot('/CN=Test Root CA', { from: T0, pathLen: 1 });
const base = root.der;

const bytes = (...values: number[]): Buffer => Buffer.from(values);
const TBS = { version: 0, serialNumber: 1, signature: 2, issuer: 3, validity: 4, subject: 5, spki: 6 } as const;

/** An extension rebuilt from its parts (OID TLV, optional critical TLV, extnValue contents). */
function extension(oid: Buffer, critical: Buffer | undefined, value: Buffer): Buffer {
  return critical ? seq(oid, critical, tlv(0x04, value)) : seq(oid, tlv(0x04, value));
}

function partsOf(ext: Buffer): { oid: Buffer; critical: Buffer | undefined; value: Buffer } {
  const fields = children(single(ext).contents);
  const oid = fields[0] as { encoded: Buffer };
  const last = fields[fields.length - 1] as { contents: Buffer };
  return {
    oid: Buffer.from(oid.encoded),
    critical: fields.length === 3 ? Buffer.from((fields[1] as { encoded: Buffer }).encoded) : undefined,
    value: Buffer.from(last.contents),
  };
}

function withOuterLengthPaddedByZero(der: Buffer): Buffer {
  const contents = single(der).contents;
  const lengthBytes: number[] = [];
  for (let v = contents.length; v > 0; v = Math.floor(v / 256)) lengthBytes.unshift(v & 0xff);
  return Buffer.concat([bytes(0x30, 0x80 | (lengthBytes.length + 1), 0x00, ...lengthBytes), contents]);
}

interface MutationCase {
  readonly name: string;
  readonly der: () => Buffer;
  readonly code: PkiErrorCode;
}

const CASES: readonly MutationCase[] = [
  { name: 'empty input', der: () => Buffer.alloc(0), code: 'DER_MALFORMED' },
  { name: 'not a SEQUENCE', der: () => tlv(0x04, single(base).contents), code: 'DER_MALFORMED' },
  {
    name: 'indefinite length on the outer SEQUENCE',
    der: () => Buffer.concat([bytes(0x30, 0x80), single(base).contents, bytes(0x00, 0x00)]),
    code: 'DER_MALFORMED',
  },
  { name: 'non-minimal long-form outer length (leading 0x00 length octet)', der: () => withOuterLengthPaddedByZero(base), code: 'DER_MALFORMED' },
  {
    name: 'non-minimal long-form length on the version field (0x81 0x03)',
    der: () => mapTbsField(base, TBS.version, () => bytes(0xa0, 0x81, 0x03, 0x02, 0x01, 0x02)),
    code: 'DER_MALFORMED',
  },
  { name: 'length running past the buffer (last octet cut)', der: () => base.subarray(0, base.length - 1), code: 'DER_MALFORMED' },
  { name: 'length running past the buffer (cut in the TBS)', der: () => base.subarray(0, 40), code: 'DER_MALFORMED' },
  { name: 'trailing zero octet after the certificate', der: () => Buffer.concat([base, bytes(0x00)]), code: 'DER_TRAILING_DATA' },
  { name: 'a second certificate glued after the first', der: () => Buffer.concat([base, base]), code: 'DER_TRAILING_DATA' },
  {
    name: 'high tag number form in place of the version tag',
    der: () => mapTbsField(base, TBS.version, (f) => Buffer.concat([bytes(0xbf), f.subarray(1)])),
    code: 'DER_MALFORMED',
  },
  {
    name: 'basicConstraints cA BOOLEAN encoded as 0x01',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, seq(bytes(0x01, 0x01, 0x01), bytes(0x02, 0x01, 0x01)))];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'basicConstraints cA BOOLEAN with two content octets',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, seq(bytes(0x01, 0x02, 0xff, 0xff)))];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'basicConstraints critical flag encoded as 0x01',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, bytes(0x01, 0x01, 0x01), p.value)];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'basicConstraints cA FALSE encoded explicitly (DEFAULT must be omitted)',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, seq(bytes(0x01, 0x01, 0x00)))];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'basicConstraints value with trailing data inside extnValue',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, Buffer.concat([p.value, bytes(0x05, 0x00)]))];
    }),
    code: 'DER_TRAILING_DATA',
  },
  {
    name: 'non-minimal INTEGER serial (0x00 before an octet below 0x80)',
    der: () => mapTbsField(base, TBS.serialNumber, (f) => tlv(0x02, Buffer.concat([bytes(0x00), single(f).contents]))),
    code: 'DER_MALFORMED',
  },
  { name: 'non-minimal negative INTEGER serial (0xff 0x80)', der: () => mapTbsField(base, TBS.serialNumber, () => bytes(0x02, 0x02, 0xff, 0x80)), code: 'DER_MALFORMED' },
  { name: 'empty INTEGER serial', der: () => mapTbsField(base, TBS.serialNumber, () => bytes(0x02, 0x00)), code: 'DER_MALFORMED' },
  {
    name: 'explicit critical FALSE on subjectKeyIdentifier',
    der: () => mapExtension(base, EXT_OID.subjectKeyIdentifier, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, bytes(0x01, 0x01, 0x00), p.value)];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'duplicate subjectKeyIdentifier extension',
    der: () => mapExtension(base, EXT_OID.subjectKeyIdentifier, (ext) => [ext, ext]),
    code: 'DER_MALFORMED',
  },
  {
    name: 'duplicate basicConstraints with different values',
    der: () => mapExtension(base, EXT_OID.basicConstraints, (ext) => {
      const p = partsOf(ext);
      return [ext, extension(p.oid, p.critical, seq(bytes(0x01, 0x01, 0xff)))];
    }),
    code: 'DER_MALFORMED',
  },
  { name: 'empty extensions list', der: () => withExtensions(base, []), code: 'DER_MALFORMED' },
  {
    name: 'keyUsage with a trailing zero octet in the named bit list',
    der: () => mapExtension(base, EXT_OID.keyUsage, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, bytes(0x03, 0x03, 0x00, 0x06, 0x00))];
    }),
    code: 'DER_MALFORMED',
  },
  {
    // X.690 §11.2.2: a named bit list drops its trailing zero bits, so keyCertSign+cRLSign
    // (bits 5, 6) is 03 02 01 06; with 0 unused bits the encoding is BER, not DER.
    name: 'keyUsage named bit list with a trailing zero bit (unused-bits count 0)',
    der: () => mapExtension(base, EXT_OID.keyUsage, (ext) => {
      const p = partsOf(ext);
      return [extension(p.oid, p.critical, bytes(0x03, 0x02, 0x00, 0x06))];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'subject CN with invalid UTF-8',
    der: () => mapTbsField(base, TBS.subject, () => seq(tlv(0x31, seq(bytes(0x06, 0x03, 0x55, 0x04, 0x03), bytes(0x0c, 0x02, 0xc3, 0x28))))),
    code: 'DER_MALFORMED',
  },
  { name: 'subject with an empty RDN SET', der: () => mapTbsField(base, TBS.subject, () => seq(bytes(0x31, 0x00))), code: 'DER_MALFORMED' },
  {
    name: 'subject CN as an odd-length BMPString',
    der: () => mapTbsField(base, TBS.subject, () => seq(tlv(0x31, seq(bytes(0x06, 0x03, 0x55, 0x04, 0x03), bytes(0x1e, 0x03, 0x00, 0x41, 0x00))))),
    code: 'DER_MALFORMED',
  },
  {
    name: 'non-minimal OID arc (0x80 lead octet) in an extension id',
    der: () => mapExtension(base, EXT_OID.subjectKeyIdentifier, (ext) => {
      const p = partsOf(ext);
      return [extension(bytes(0x06, 0x04, 0x55, 0x1d, 0x80, 0x0e), p.critical, p.value)];
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'outer signatureAlgorithm differs from tbsCertificate.signature',
    der: () => {
      const parts = splitSigned(base);
      // ecdsa-with-SHA384 outside, ecdsa-with-SHA256 inside.
      const sha384 = seq(bytes(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03));
      return joinSigned({ ...parts, signatureAlgorithm: sha384 });
    },
    code: 'DER_MALFORMED',
  },
  {
    name: 'outer signatureAlgorithm with an added NULL parameter',
    der: () => {
      const parts = splitSigned(base);
      const withNull = seq(single(parts.signatureAlgorithm).contents, bytes(0x05, 0x00));
      return joinSigned({ ...parts, signatureAlgorithm: withNull });
    },
    code: 'DER_MALFORMED',
  },
  { name: 'version 1 encoded explicitly (DEFAULT must be omitted)', der: () => mapTbsField(base, TBS.version, () => bytes(0xa0, 0x03, 0x02, 0x01, 0x00)), code: 'DER_MALFORMED' },
  { name: 'version 4 (value 3)', der: () => mapTbsField(base, TBS.version, () => bytes(0xa0, 0x03, 0x02, 0x01, 0x03)), code: 'DER_MALFORMED' },
  {
    name: 'extra field after the extensions inside the TBS',
    der: () => {
      const parts = splitSigned(base);
      return joinSigned({ ...parts, tbsFields: [...parts.tbsFields, bytes(0x05, 0x00)] });
    },
    code: 'DER_MALFORMED',
  },
  {
    name: 'signature BIT STRING with unused bits',
    der: () => joinSigned({ ...splitSigned(base), signatureValue: bytes(0x03, 0x02, 0x01, 0x02) }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'UTCTime notBefore without seconds',
    der: () => mapTbsField(base, TBS.validity, (f) => {
      const [, notAfter] = children(single(f).contents);
      return seq(tlv(0x17, Buffer.from('2501010000Z', 'latin1')), Buffer.from((notAfter as { encoded: Buffer }).encoded));
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'UTCTime notAfter with a time zone offset',
    der: () => mapTbsField(base, TBS.validity, (f) => {
      const [notBefore] = children(single(f).contents);
      return seq(Buffer.from((notBefore as { encoded: Buffer }).encoded), tlv(0x17, Buffer.from('350101000000+0100', 'latin1')));
    }),
    code: 'DER_MALFORMED',
  },
  {
    name: 'UTCTime on 30 February',
    der: () => mapTbsField(base, TBS.validity, (f) => {
      const [, notAfter] = children(single(f).contents);
      return seq(tlv(0x17, Buffer.from('250230000000Z', 'latin1')), Buffer.from((notAfter as { encoded: Buffer }).encoded));
    }),
    code: 'DER_MALFORMED',
  },
];

describe('parseCertificate strictness', () => {
  it('the helper round trip reproduces the fixture byte for byte', () => {
    assert.ok(joinSigned(splitSigned(base)).equals(base));
    assert.ok(withExtensions(base, certificateExtensions(base)).equals(base));
    assert.deepEqual(
      certificateExtensions(base).map((e) => extensionOid(e).toString('hex')),
      [EXT_OID.basicConstraints, EXT_OID.keyUsage, EXT_OID.subjectKeyIdentifier].map((o) => o.toString('hex')),
    );
  });

  it('the unmodified fixture parses', () => {
    const cert = parseCertificate(base);
    assert.equal(cert.version, 3);
    assert.deepEqual(cert.basicConstraints, { ca: true, pathLen: 1 });
    assert.ok(cert.der.equals(base));
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.code} (parseCertificate)`, () => {
      const der = c.der();
      assert.ok(!der.equals(base), 'the mutation changed nothing');
      assertPkiError(() => parseCertificate(der), c.code);
    });
    it(`${c.name} → ${c.code} (decodeObjects on DER and on PEM)`, () => {
      const der = c.der();
      assertPkiError(() => decodeObjects(der), c.code);
      if (der.length > 0) assertPkiError(() => decodeObjects(Buffer.from(encodePem('CERTIFICATE', der))), c.code);
    });
  }
});
