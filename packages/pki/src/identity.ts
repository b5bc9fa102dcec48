import { Tag } from './der/tags.js';
import { PkiError } from './errors.js';
import { attributeValues, encodeName, type DistinguishedName } from './name.js';
import { Oid } from './oids.js';

/** DESIGN §3: the project ID in every path. */
export const PROJECT_SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
/** DESIGN §3: safe in URLs, MQTT topics, file names and PSK identities; case-sensitive. */
export const CERTIFICATE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export interface DeviceIdentity {
  readonly projectSlug: string;
  readonly certificateId: string;
}

export function isValidProjectSlug(slug: string): boolean {
  return PROJECT_SLUG_PATTERN.test(slug);
}

export function isValidCertificateId(id: string): boolean {
  return CERTIFICATE_ID_PATTERN.test(id);
}

export function assertProjectSlug(slug: string): void {
  if (!isValidProjectSlug(slug)) {
    throw new PkiError(
      'INVALID_PROJECT_SLUG',
      `"${slug}" is not a valid project slug (2-63 of a-z, 0-9 and "-", not starting with "-")`,
      { slug },
    );
  }
}

export function assertCertificateId(id: string): void {
  if (!isValidCertificateId(id)) {
    throw new PkiError(
      'INVALID_CERTIFICATE_ID',
      `"${id.length > 80 ? id.slice(0, 80) + '…' : id}" is not a valid certificate ID (1-64 of A-Z a-z 0-9 . _ : -, starting with a letter or digit; got ${id.length} characters)`,
      { length: id.length },
    );
  }
}

/**
 * The device identity a subject carries (DESIGN §3): exactly one O, the project slug, and
 * exactly one CN, the certificate ID. With `expectedProject`, O must equal it.
 */
export function deviceIdentityFromSubject(subject: DistinguishedName, expectedProject?: string): DeviceIdentity {
  // DESIGN §3: one O and one CN, each an attribute of its own. In a multi-valued RDN
  // (`/O=acme+CN=dev-1`) the two are one name component: tools that render, compare or split
  // names by RDN disagree on what it says, so it is refused rather than read either way.
  for (const rdn of subject.rdns) {
    if (rdn.length > 1 && rdn.some((atv) => atv.type === Oid.organizationName || atv.type === Oid.commonName)) {
      throw new PkiError('SUBJECT_MULTIVALUED_RDN', 'the subject joins its O or CN with other attributes in one multi-valued RDN; each must be an RDN of its own', {
        attributes: rdn.length,
      });
    }
  }
  const orgs = attributeValues(subject, Oid.organizationName);
  const cns = attributeValues(subject, Oid.commonName);
  if (orgs.length === 0) throw new PkiError('SUBJECT_O_MISSING', 'the subject has no O (project slug)');
  if (orgs.length > 1) throw new PkiError('SUBJECT_O_MULTIPLE', `the subject has ${orgs.length} O attributes; exactly one is allowed`, { count: orgs.length });
  if (cns.length === 0) throw new PkiError('SUBJECT_CN_MISSING', 'the subject has no CN (certificate ID)');
  if (cns.length > 1) throw new PkiError('SUBJECT_CN_MULTIPLE', `the subject has ${cns.length} CN attributes; exactly one is allowed`, { count: cns.length });
  const projectSlug = orgs[0] as string;
  const certificateId = cns[0] as string;
  if (expectedProject !== undefined && projectSlug !== expectedProject) {
    throw new PkiError('SUBJECT_O_MISMATCH', `the subject's O is "${projectSlug}", expected project "${expectedProject}"`, {
      found: projectSlug,
      expected: expectedProject,
    });
  }
  assertProjectSlug(projectSlug);
  assertCertificateId(certificateId);
  return { projectSlug, certificateId };
}

/** `/O=<slug>/CN=<certificate ID>`, both as UTF8String like openssl's default. */
export function deviceSubject(projectSlug: string, certificateId: string): DistinguishedName {
  assertProjectSlug(projectSlug);
  assertCertificateId(certificateId);
  return encodeName([
    [{ type: Oid.organizationName, valueTag: Tag.UTF8_STRING, value: projectSlug }],
    [{ type: Oid.commonName, valueTag: Tag.UTF8_STRING, value: certificateId }],
  ]);
}
