import { derMalformed, integerSmall, oidString, readSingle, sequenceReader } from './der/reader.js';
import { Tag } from './der/tags.js';

/** Policies per certificate beyond this are refused: a hostile input bound (RFC 9618 §5 on graph growth). */
export const MAX_POLICIES_PER_CERTIFICATE = 64;

export const ANY_POLICY = '2.5.29.32.0';

/** certificatePolicies (RFC 5280 §4.2.1.4): the policy OIDs; qualifiers are not interpreted. */
export function decodeCertificatePolicies(value: Buffer): string[] {
  const what = 'certificatePolicies';
  const reader = sequenceReader(value, what);
  const policies: string[] = [];
  while (!reader.atEnd()) {
    if (policies.length >= MAX_POLICIES_PER_CERTIFICATE) throw derMalformed(what, 'too many policies');
    const info = reader.enter(Tag.SEQUENCE, 'PolicyInformation');
    const oid = oidString(info.read(), what);
    if (!info.atEnd()) info.expect(Tag.SEQUENCE, 'policyQualifiers');
    info.expectEnd('policyQualifiers');
    // "A certificate policy OID MUST NOT appear more than once" (RFC 5280 §4.2.1.4).
    if (policies.includes(oid)) throw derMalformed(what, `policy ${oid} appears twice`);
    policies.push(oid);
  }
  if (policies.length === 0) throw derMalformed(what, 'empty certificatePolicies');
  return policies;
}

/** policyMappings (RFC 5280 §4.2.1.5): issuerDomainPolicy -> subjectDomainPolicy pairs. */
export function decodePolicyMappings(value: Buffer): { issuer: string; subject: string }[] {
  const what = 'policyMappings';
  const reader = sequenceReader(value, what);
  const out: { issuer: string; subject: string }[] = [];
  while (!reader.atEnd()) {
    if (out.length >= MAX_POLICIES_PER_CERTIFICATE) throw derMalformed(what, 'too many mappings');
    const pair = reader.enter(Tag.SEQUENCE, 'mapping');
    out.push({ issuer: oidString(pair.read(), what), subject: oidString(pair.read(), what) });
    pair.expectEnd('subjectDomainPolicy');
  }
  if (out.length === 0) throw derMalformed(what, 'empty policyMappings');
  return out;
}

/** policyConstraints (RFC 5280 §4.2.1.11): at least one of the two fields. */
export function decodePolicyConstraints(value: Buffer): { requireExplicitPolicy: number | undefined; inhibitPolicyMapping: number | undefined } {
  const what = 'policyConstraints';
  const reader = sequenceReader(value, what);
  const asInt = (el: { contents: Buffer } | undefined): number | undefined =>
    el === undefined ? undefined : integerSmall({ tag: Tag.INTEGER, encoded: el.contents, contents: el.contents }, what);
  const requireExplicitPolicy = asInt(reader.optional(0x80));
  const inhibitPolicyMapping = asInt(reader.optional(0x81));
  reader.expectEnd(what);
  if (requireExplicitPolicy === undefined && inhibitPolicyMapping === undefined) throw derMalformed(what, 'empty policyConstraints');
  return { requireExplicitPolicy, inhibitPolicyMapping };
}

/** inhibitAnyPolicy (RFC 5280 §4.2.1.14): SkipCerts. */
export function decodeInhibitAnyPolicy(value: Buffer): number {
  return integerSmall(readSingle(value, 'inhibitAnyPolicy'), 'inhibitAnyPolicy');
}
