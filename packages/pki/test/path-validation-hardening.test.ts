import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { openssl, opensslCrl, tempDir } from '@fleetpki/test-support';
import {
  createCsr,
  createSelfSignedCa,
  parseCertificate,
  parseSubjectString,
  validityForDays,
  encodeName,
  encodePem,
  loadCertificate,
  loadCrls,
  Oid,
  Tag,
  verifyChain,
  type Certificate,
  type CertificateRevocationList,
  type ValidationOptions,
} from '../src/index.js';

/**
 * Regression table for refusals a review found missing: each row is a chain the validator once
 * accepted. Certificates come from the real openssl, as an attacker's CA would make them.
 */
const tmp = tempDir('hardening');
const made: Record<string, Certificate> = {};
let staleCrl: CertificateRevocationList[] = [];

function csrWithPrintableO(value: string, cn: string): string {
  const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const name = encodeName([
    [{ type: Oid.organizationName, valueTag: Tag.PRINTABLE_STRING, value }],
    [{ type: Oid.commonName, valueTag: Tag.UTF8_STRING, value: cn }],
  ]);
  return encodePem('CERTIFICATE REQUEST', createCsr(name, key));
}

before(() => {
  const o = (args: string[]): Buffer => openssl(args, tmp.dir);
  o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key.pem']);
  tmp.write(
    'root.cnf',
    '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' +
      'nameConstraints=critical,excluded;dirName:evil_dn,excluded;email:evil.example,excluded;URI:evil.example,excluded;IP:10.0.0.0/255.0.0.0,permitted;URI:.good.example\n[evil_dn]\nO=Evil\n',
  );
  o(['req', '-x509', '-new', '-key', 'root.key.pem', '-subj', '/CN=Constraining Root', '-days', '30', '-config', 'root.cnf', '-extensions', 'v3', '-out', 'root.crt.pem']);
  made['root'] = loadCertificate(tmp.read('root.crt.pem'));
  o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'leaf.key.pem']);
  const leaf = (name: string, subject: string | { printableO: string; cn: string }, ext: string): void => {
    if (typeof subject === 'string') o(['req', '-new', '-key', 'leaf.key.pem', '-subj', subject, '-out', `${name}.csr.pem`]);
    else tmp.write(`${name}.csr.pem`, csrWithPrintableO(subject.printableO, subject.cn));
    tmp.write(`${name}.ext`, `basicConstraints=critical,CA:FALSE\n${ext}`);
    o(['x509', '-req', '-in', `${name}.csr.pem`, '-CA', 'root.crt.pem', '-CAkey', 'root.key.pem', '-CAcreateserial', '-days', '7', '-extfile', `${name}.ext`, '-out', `${name}.crt.pem`]);
    made[name] = loadCertificate(tmp.read(`${name}.crt.pem`));
  };
  leaf('dn-case', '/O=evil/CN=a', '');
  leaf('dn-printable', { printableO: 'Evil', cn: 'b' }, '');
  leaf('email-dot', '/CN=c', 'subjectAltName=email:a@evil.example.\n');
  leaf('uri-dot', '/CN=d', 'subjectAltName=URI:https://x.good.example./\n');
  leaf('uri-percent', '/CN=e', 'subjectAltName=URI:https://ev%69l.example/\n');
  leaf('uri-nohost', '/CN=f', 'subjectAltName=URI:urn:x:evil.example\n');
  leaf('ip-mapped', '/CN=g', 'subjectAltName=IP:::ffff:10.0.0.1\n');
  leaf('ku-crlsign', '/CN=h', 'keyUsage=critical,cRLSign\n');
  leaf('fine', '/O=Good/CN=i', 'subjectAltName=URI:https://x.good.example/\n');
  leaf('stale-revoked', '/CN=j', '');
  // A CRL whose nextUpdate has passed by the validation time, listing stale-revoked.
  staleCrl = loadCrls(opensslCrl(tmp, { caCert: 'root.crt.pem', caKey: 'root.key.pem', revoke: ['stale-revoked.crt.pem'], out: 'stale.crl.pem', lifetime: { hours: 1 } }));
});
after(() => tmp.cleanup());

const later = (): Date => new Date(Date.now() + 2 * 3_600_000);
const ROWS: readonly { name: string; leaf: string; code: string; options?: ValidationOptions; time?: () => Date; crls?: boolean }[] = [
  { name: 'excluded DN, other case', leaf: 'dn-case', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'excluded DN, PrintableString against UTF8String', leaf: 'dn-printable', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'excluded mail host with a trailing dot', leaf: 'email-dot', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'permitted URI host with a trailing dot', leaf: 'uri-dot', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'percent-encoded URI host', leaf: 'uri-percent', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'URI without a host under URI constraints', leaf: 'uri-nohost', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'IPv4-mapped IPv6 address in an excluded IPv4 range', leaf: 'ip-mapped', code: 'NAME_CONSTRAINT_VIOLATION' },
  { name: 'a client leaf whose keyUsage is only cRLSign', leaf: 'ku-crlsign', code: 'CERT_PROFILE_VIOLATION', options: { purpose: 'client' } },
  { name: 'a revocation in a CRL that has expired still counts', leaf: 'stale-revoked', code: 'CERT_REVOKED', time: later, crls: true },
  { name: 'an expired CRL leaves the status unknown: refused', leaf: 'fine', code: 'CRL_INVALID', time: later, crls: true },
  { name: 'the same leaf without CRLs passes (control)', leaf: 'fine', code: 'OK' },
];

describe('path validation hardening', () => {
  for (const row of ROWS) {
    it(`${row.name} → ${row.code}`, () => {
      const result = verifyChain({
        leaf: made[row.leaf] as Certificate,
        anchors: [made['root'] as Certificate],
        intermediates: [],
        time: row.time?.() ?? new Date(),
        options: { ...row.options, crls: row.crls ? staleCrl : [] },
      });
      assert.equal(result.ok ? 'OK' : result.code, row.code, result.ok ? '' : result.message);
    });
  }

  it('a verified signature is not reused for an object changed afterwards', () => {
    const leaf = made['fine'] as Certificate;
    const anchor = { ...(made['root'] as Certificate) };
    assert.ok(verifyChain({ leaf, anchors: [anchor], intermediates: [], time: new Date() }).ok);
    // Same subject, another key: the cached verdict for the real root must not carry over.
    const impostorRoot = parseCertificate(
      createSelfSignedCa({
        subject: parseSubjectString('/CN=Constraining Root'),
        privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
        validity: validityForDays(new Date(Date.now() - 60_000), 2),
      }).der,
    );
    Object.assign(anchor, impostorRoot);
    const again = verifyChain({ leaf, anchors: [anchor], intermediates: [], time: new Date() });
    assert.equal(again.ok ? 'OK' : again.code, 'CERT_SIGNATURE_INVALID');
  });
});
