import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deviceIdentityFromSubject,
  deviceSubject,
  isValidCertificateId,
  isValidProjectSlug,
  encodeName,
  Oid,
  parseSubjectString,
  Tag,
  type PkiErrorCode,
} from '../src/index.js';
import { assertPkiError } from './helpers/assert-pki.js';

const SLUGS: readonly { slug: string; valid: boolean }[] = [
  { slug: 'acme', valid: true },
  { slug: 'a1', valid: true },
  { slug: 'my-project', valid: true },
  { slug: '0a', valid: true },
  { slug: 'a-', valid: true },
  { slug: 'a'.repeat(63), valid: true },
  { slug: 'A', valid: false },
  { slug: 'a', valid: false },
  { slug: '', valid: false },
  { slug: '-abc', valid: false },
  { slug: 'ABC', valid: false },
  { slug: 'Acme', valid: false },
  { slug: 'a_b', valid: false },
  { slug: 'a.b', valid: false },
  { slug: 'a b', valid: false },
  { slug: 'acme\n', valid: false },
  { slug: 'grüße', valid: false },
  { slug: 'a'.repeat(64), valid: false },
];

describe('isValidProjectSlug', () => {
  for (const c of SLUGS) {
    it(`${JSON.stringify(c.slug.length > 20 ? `${c.slug.length} × a` : c.slug)} is ${c.valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidProjectSlug(c.slug), c.valid);
    });
  }
});

const CERTIFICATE_IDS: readonly { name: string; id: string; valid: boolean }[] = [
  { name: '1 character', id: 'x', valid: true },
  { name: '1 digit', id: '7', valid: true },
  { name: '64 characters', id: 'a'.repeat(64), valid: true },
  { name: '65 characters', id: 'a'.repeat(65), valid: false },
  { name: 'empty', id: '', valid: false },
  { name: 'all allowed punctuation', id: 'dev:1.a_b-c', valid: true },
  { name: 'case-sensitive upper case', id: 'DEV-1', valid: true },
  { name: 'leading dot', id: '.x', valid: false },
  { name: 'leading dash', id: '-x', valid: false },
  { name: 'leading underscore', id: '_x', valid: false },
  { name: 'leading colon', id: ':x', valid: false },
  { name: 'space inside', id: 'dev 1', valid: false },
  { name: 'trailing space', id: 'dev1 ', valid: false },
  { name: 'slash', id: 'dev/1', valid: false },
  { name: 'backslash', id: 'dev\\1', valid: false },
  { name: 'plus (MQTT wildcard)', id: 'dev+1', valid: false },
  { name: 'hash (MQTT wildcard)', id: 'dev#1', valid: false },
  { name: 'at sign (PSK identity separator)', id: 'dev@acme', valid: false },
  { name: 'trailing newline', id: 'dev1\n', valid: false },
  { name: 'non-ASCII letter', id: 'gerät', valid: false },
];

describe('isValidCertificateId and deviceSubject', () => {
  for (const c of CERTIFICATE_IDS) {
    it(`${c.name} is ${c.valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidCertificateId(c.id), c.valid);
      if (c.valid) {
        const identity = deviceIdentityFromSubject(deviceSubject('acme', c.id));
        assert.deepEqual(identity, { projectSlug: 'acme', certificateId: c.id });
      } else {
        assertPkiError(() => deviceSubject('acme', c.id), 'INVALID_CERTIFICATE_ID');
      }
    });
  }

  it('deviceSubject refuses an invalid slug with INVALID_PROJECT_SLUG', () => {
    assertPkiError(() => deviceSubject('Acme', 'dev-1'), 'INVALID_PROJECT_SLUG');
  });

  it('deviceSubject encodes exactly as parseSubjectString("/O=slug/CN=id")', () => {
    assert.ok(deviceSubject('acme', 'dev-1').der.equals(parseSubjectString('/O=acme/CN=dev-1').der));
  });
});

interface IdentityCase {
  readonly name: string;
  readonly subject: string;
  readonly expectedProject?: string;
  readonly expected: { readonly projectSlug: string; readonly certificateId: string } | { readonly code: PkiErrorCode };
}

const IDENTITY_CASES: readonly IdentityCase[] = [
  { name: 'O then CN', subject: '/O=acme/CN=dev-1', expected: { projectSlug: 'acme', certificateId: 'dev-1' } },
  { name: 'CN then O', subject: '/CN=dev-1/O=acme', expected: { projectSlug: 'acme', certificateId: 'dev-1' } },
  { name: 'with the expected project', subject: '/O=acme/CN=dev-1', expectedProject: 'acme', expected: { projectSlug: 'acme', certificateId: 'dev-1' } },
  { name: 'other attributes are ignored', subject: '/C=US/O=acme/OU=line-3/CN=SN:0042', expected: { projectSlug: 'acme', certificateId: 'SN:0042' } },
  { name: 'O and CN in one multi-valued RDN', subject: '/O=acme+CN=dev-1', expected: { code: 'SUBJECT_MULTIVALUED_RDN' } },
  { name: 'CN joined with a serial number in one RDN', subject: '/O=acme/CN=dev-1+serialNumber=42', expected: { code: 'SUBJECT_MULTIVALUED_RDN' } },
  { name: 'O joined with an OU in one RDN', subject: '/O=acme+OU=line-3/CN=dev-1', expected: { code: 'SUBJECT_MULTIVALUED_RDN' } },
  { name: 'a multi-valued RDN without O or CN is allowed', subject: '/C=US+ST=CA/O=acme/CN=dev-1', expected: { projectSlug: 'acme', certificateId: 'dev-1' } },
  { name: 'missing O', subject: '/CN=dev-1', expected: { code: 'SUBJECT_O_MISSING' } },
  { name: 'missing CN', subject: '/O=acme', expected: { code: 'SUBJECT_CN_MISSING' } },
  { name: 'empty subject', subject: '/', expected: { code: 'SUBJECT_O_MISSING' } },
  { name: 'OU does not count as O', subject: '/OU=acme/CN=dev-1', expected: { code: 'SUBJECT_O_MISSING' } },
  { name: 'two O', subject: '/O=acme/O=other/CN=dev-1', expected: { code: 'SUBJECT_O_MULTIPLE' } },
  { name: 'two identical O', subject: '/O=acme/O=acme/CN=dev-1', expected: { code: 'SUBJECT_O_MULTIPLE' } },
  { name: 'two CN', subject: '/O=acme/CN=dev-1/CN=dev-2', expected: { code: 'SUBJECT_CN_MULTIPLE' } },
  { name: 'two CN in one multi-valued RDN', subject: '/O=acme/CN=dev-1+CN=dev-2', expected: { code: 'SUBJECT_MULTIVALUED_RDN' } },
  { name: 'O differs from the expected project', subject: '/O=other/CN=dev-1', expectedProject: 'acme', expected: { code: 'SUBJECT_O_MISMATCH' } },
  { name: 'O differs only in case', subject: '/O=acme/CN=dev-1', expectedProject: 'ACME', expected: { code: 'SUBJECT_O_MISMATCH' } },
  { name: 'O is not a valid slug', subject: '/O=Acme Inc/CN=dev-1', expected: { code: 'INVALID_PROJECT_SLUG' } },
  { name: 'CN is not a valid certificate ID', subject: '/O=acme/CN=.x', expected: { code: 'INVALID_CERTIFICATE_ID' } },
  { name: 'CN of 64 characters', subject: `/O=acme/CN=${'a'.repeat(64)}`, expected: { projectSlug: 'acme', certificateId: 'a'.repeat(64) } },
];

describe('deviceIdentityFromSubject', () => {
  for (const c of IDENTITY_CASES) {
    it(c.name, () => {
      const subject = parseSubjectString(c.subject);
      if ('code' in c.expected) {
        assertPkiError(() => deviceIdentityFromSubject(subject, c.expectedProject), c.expected.code);
      } else {
        assert.deepEqual(deviceIdentityFromSubject(subject, c.expectedProject), c.expected);
      }
    });
  }

  it('a 65-character CN that bypassed the subject-string limit → INVALID_CERTIFICATE_ID', () => {
    const subject = encodeName([
      [{ type: Oid.organizationName, valueTag: Tag.UTF8_STRING, value: 'acme' }],
      [{ type: Oid.commonName, valueTag: Tag.PRINTABLE_STRING, value: 'a'.repeat(65) }],
    ]);
    assertPkiError(() => deviceIdentityFromSubject(subject), 'INVALID_CERTIFICATE_ID');
  });

  it('O encoded as PrintableString is still the project slug', () => {
    const subject = encodeName([
      [{ type: Oid.organizationName, valueTag: Tag.PRINTABLE_STRING, value: 'acme' }],
      [{ type: Oid.commonName, valueTag: Tag.PRINTABLE_STRING, value: 'dev-1' }],
    ]);
    assert.deepEqual(deviceIdentityFromSubject(subject, 'acme'), { projectSlug: 'acme', certificateId: 'dev-1' });
  });
});
