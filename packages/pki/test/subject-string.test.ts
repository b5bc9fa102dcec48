import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openssl, tempDir } from '@fleetpki/test-support';
import {
  formatNameForDisplay,
  formatSubjectString,
  Oid,
  parseCsr,
  parseName,
  parseSubjectString,
  readSingle,
  Tag,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

interface Atv {
  readonly type: string;
  readonly valueTag: number;
  readonly value: string;
}

interface RoundTripCase {
  readonly name: string;
  readonly subject: string;
  readonly rdns: readonly (readonly Atv[])[];
  readonly display: string;
}

const cn = (value: string): Atv => ({ type: Oid.commonName, valueTag: Tag.UTF8_STRING, value });
const o = (value: string): Atv => ({ type: Oid.organizationName, valueTag: Tag.UTF8_STRING, value });

const ROUND_TRIPS: readonly RoundTripCase[] = [
  { name: 'single CN', subject: '/CN=Root CA', rdns: [[cn('Root CA')]], display: 'CN=Root CA' },
  { name: 'device subject', subject: '/O=acme/CN=dev-1', rdns: [[o('acme')], [cn('dev-1')]], display: 'O=acme, CN=dev-1' },
  {
    name: 'the usual attributes with their openssl string types',
    subject: '/C=US/ST=California/L=San Francisco/O=Example, Inc./OU=IoT/CN=dev:1.a_b-c',
    rdns: [
      [{ type: Oid.countryName, valueTag: Tag.PRINTABLE_STRING, value: 'US' }],
      [{ type: Oid.stateOrProvinceName, valueTag: Tag.UTF8_STRING, value: 'California' }],
      [{ type: Oid.localityName, valueTag: Tag.UTF8_STRING, value: 'San Francisco' }],
      [o('Example, Inc.')],
      [{ type: Oid.organizationalUnitName, valueTag: Tag.UTF8_STRING, value: 'IoT' }],
      [cn('dev:1.a_b-c')],
    ],
    display: 'C=US, ST=California, L=San Francisco, O=Example, Inc., OU=IoT, CN=dev:1.a_b-c',
  },
  {
    name: 'IA5 and Printable attributes',
    subject: '/emailAddress=ops@example.com/DC=example/serialNumber=ABC-123',
    rdns: [
      [{ type: Oid.emailAddress, valueTag: Tag.IA5_STRING, value: 'ops@example.com' }],
      [{ type: Oid.domainComponent, valueTag: Tag.IA5_STRING, value: 'example' }],
      [{ type: Oid.serialNumber, valueTag: Tag.PRINTABLE_STRING, value: 'ABC-123' }],
    ],
    display: 'emailAddress=ops@example.com, DC=example, serialNumber=ABC-123',
  },
  { name: 'escaped slash', subject: '/CN=a\\/b', rdns: [[cn('a/b')]], display: 'CN=a/b' },
  { name: 'escaped plus', subject: '/CN=a\\+b', rdns: [[cn('a+b')]], display: 'CN=a+b' },
  { name: 'escaped equals', subject: '/CN=a\\=b', rdns: [[cn('a=b')]], display: 'CN=a=b' },
  { name: 'escaped backslash', subject: '/CN=a\\\\b', rdns: [[cn('a\\b')]], display: 'CN=a\\b' },
  { name: 'all escapes at once', subject: '/O=x\\/y\\+z\\=w\\\\v/CN=\\/', rdns: [[o('x/y+z=w\\v')], [cn('/')]], display: 'O=x/y+z=w\\v, CN=/' },
  { name: 'multi-valued RDN', subject: '/O=acme+CN=dev-1', rdns: [[o('acme'), cn('dev-1')]], display: 'O=acme + CN=dev-1' },
  { name: 'multi-valued RDN between single ones', subject: '/C=DE/O=acme+OU=fleet/CN=x', rdns: [[{ type: Oid.countryName, valueTag: Tag.PRINTABLE_STRING, value: 'DE' }], [o('acme'), { type: Oid.organizationalUnitName, valueTag: Tag.UTF8_STRING, value: 'fleet' }], [cn('x')]], display: 'C=DE, O=acme + OU=fleet, CN=x' },
  { name: 'UTF-8 values', subject: '/O=Grüße/CN=東京-🚀', rdns: [[o('Grüße')], [cn('東京-🚀')]], display: 'O=Grüße, CN=東京-🚀' },
  { name: '64 characters is the limit, counted in characters', subject: `/CN=${'é'.repeat(64)}`, rdns: [[cn('é'.repeat(64))]], display: `CN=${'é'.repeat(64)}` },
  { name: 'empty subject', subject: '/', rdns: [], display: '' },
];

describe('parseSubjectString / formatSubjectString round trips', () => {
  for (const c of ROUND_TRIPS) {
    it(c.name, () => {
      const name = parseSubjectString(c.subject);
      assert.deepEqual(name.rdns, c.rdns);
      assert.equal(formatSubjectString(name), c.subject);
      assert.equal(formatNameForDisplay(name), c.display);
      // DER → Name → string → DER gives back the same bytes.
      const reparsed = parseName(readSingle(name.der, 'name'), 'name');
      assert.ok(reparsed.der.equals(name.der));
      assert.ok(parseSubjectString(formatSubjectString(reparsed)).der.equals(name.der));
    });
  }

  it('long attribute names, lower case keys and dotted OIDs mean the same attribute', () => {
    const expected = parseSubjectString('/O=acme/CN=dev-1').der;
    for (const s of ['/organizationName=acme/commonName=dev-1', '/o=acme/cn=dev-1', '/2.5.4.10=acme/2.5.4.3=dev-1']) {
      assert.ok(parseSubjectString(s).der.equals(expected), s);
    }
  });

  it('a trailing slash is tolerated as openssl does', () => {
    assert.ok(parseSubjectString('/CN=x/').der.equals(parseSubjectString('/CN=x').der));
  });

  it('the empty subject encodes as an empty SEQUENCE', () => {
    assert.deepEqual([...parseSubjectString('/').der], [0x30, 0x00]);
  });
});

const SYNTAX_ERRORS: readonly { name: string; subject: string; code: PkiErrorCode }[] = [
  { name: 'empty string', subject: '', code: 'SUBJECT_SYNTAX' },
  { name: 'no leading slash', subject: 'CN=x', code: 'SUBJECT_SYNTAX' },
  { name: 'comma-separated RFC 4514 form', subject: 'O=acme, CN=x', code: 'SUBJECT_SYNTAX' },
  { name: "missing '='", subject: '/CN', code: 'SUBJECT_SYNTAX' },
  { name: "missing '=' in the second attribute", subject: '/CN=a/O', code: 'SUBJECT_SYNTAX' },
  { name: 'empty value', subject: '/CN=', code: 'SUBJECT_SYNTAX' },
  { name: 'empty value before the next attribute', subject: '/CN=/O=acme', code: 'SUBJECT_SYNTAX' },
  { name: 'empty attribute name', subject: '/=x', code: 'SUBJECT_SYNTAX' },
  { name: 'trailing backslash in a value', subject: '/CN=a\\', code: 'SUBJECT_SYNTAX' },
  { name: 'trailing backslash in a key', subject: '/CN\\', code: 'SUBJECT_SYNTAX' },
  { name: "dangling '+'", subject: '/CN=a+', code: 'SUBJECT_SYNTAX' },
  { name: 'C of 3 letters', subject: '/C=USA', code: 'SUBJECT_SYNTAX' },
  { name: 'C of 1 letter', subject: '/C=U', code: 'SUBJECT_SYNTAX' },
  { name: 'C with a character PrintableString cannot hold', subject: '/C=Ü1', code: 'SUBJECT_SYNTAX' },
  { name: 'emailAddress with non-ASCII', subject: '/emailAddress=ü@example.com', code: 'SUBJECT_SYNTAX' },
  { name: 'CN value of 65 characters', subject: `/CN=${'a'.repeat(65)}`, code: 'SUBJECT_SYNTAX' },
  { name: 'O value of 65 characters', subject: `/O=${'a'.repeat(65)}`, code: 'SUBJECT_SYNTAX' },
  { name: '65 RDNs (MAX_NAME_RDNS is 64)', subject: '/CN=a'.repeat(65), code: 'SUBJECT_SYNTAX' },
  { name: '17 attributes in one RDN (MAX_RDN_ATTRIBUTES is 16)', subject: `/CN=a${'+CN=a'.repeat(16)}`, code: 'SUBJECT_SYNTAX' },
  { name: 'unknown attribute', subject: '/XX=y', code: 'SUBJECT_UNKNOWN_ATTRIBUTE' },
  { name: 'unknown attribute after a known one', subject: '/CN=x/colour=blue', code: 'SUBJECT_UNKNOWN_ATTRIBUTE' },
  { name: 'malformed OID as a key', subject: '/2.5.04.3=x', code: 'SUBJECT_UNKNOWN_ATTRIBUTE' },
];

describe('parseSubjectString errors', () => {
  for (const c of SYNTAX_ERRORS) {
    it(`${c.name} → ${c.code}`, () => assertPkiError(() => parseSubjectString(c.subject), c.code));
  }

  it('64 RDNs and 16 attributes in one RDN are accepted', () => {
    assert.equal(parseSubjectString('/CN=a'.repeat(64)).rdns.length, 64);
    assert.equal(parseSubjectString(`/CN=a${'+CN=a'.repeat(15)}`).rdns[0]?.length, 16);
  });

  it('64 ASCII characters are accepted', () => {
    assert.equal(parseSubjectString(`/CN=${'a'.repeat(64)}`).rdns[0]?.[0]?.value.length, 64);
  });
});

describe('subject DER equals openssl req -subj', () => {
  const INTEROP_SUBJECTS = [
    '/CN=Root CA',
    '/O=acme/CN=dev-1',
    '/C=US/ST=California/L=San Francisco/O=Example, Inc./OU=IoT/CN=dev:1.a_b-c',
    '/emailAddress=ops@example.com/DC=example/DC=com/serialNumber=ABC-123/dnQualifier=q1',
    '/O=acme+CN=dev-1',
    '/CN=dev-1+O=acme+OU=fleet/C=DE',
    '/CN=a\\/b\\+c\\=d\\\\e',
    '/CN=a=b',
    '/CN= padded value ',
    '/O=Grüße/CN=東京-🚀',
    '/street=1 Main St/postalCode=12345/title=Dr/SN=Doe/GN=Jane/initials=J/pseudonym=jd/UID=u1',
    `/CN=${'x'.repeat(64)}`,
  ];
  const tmp = tempDir('subject');
  before(() => {
    openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'k.pem'], tmp.dir);
  });
  after(() => tmp.cleanup());

  for (const subject of INTEROP_SUBJECTS) {
    it(subject, () => {
      const csr = openssl(['req', '-new', '-key', 'k.pem', '-utf8', '-subj', subject, '-outform', 'DER'], tmp.dir);
      const expected = parseCsr(csr).subject.der;
      assert.equal(parseSubjectString(subject).der.toString('hex'), expected.toString('hex'));
    });
  }
});
