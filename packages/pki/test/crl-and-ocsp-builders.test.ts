import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { makeDevice, makeRoot, newKey, openssl, opensslStatus, T0, tempDir } from '@fleetpki/test-support';
import { buildCrl, buildOcspResponse, crlEntryReasonOf, crlNumberOf, issueCertificate, parseCertificate, parseCrl, parseOcspRequest, parseSubjectPublicKeyInfo, parseSubjectString, prepareIssuer, spkiDer, verifyChain } from '../src/index.js';

/** The CRLs and OCSP responses the core builds: read back by the core and by openssl. */
describe('buildCrl and the OCSP codec', () => {
  const tmp = tempDir('builders');
  after(() => tmp.cleanup());
  const root = makeRoot('/CN=Builder Root', { from: T0 });
  const issuer = prepareIssuer(root.cert, root.key);
  const revoked = makeDevice(root, '/O=acme/CN=gone', { from: T0 });
  const kept = makeDevice(root, '/O=acme/CN=kept', { from: T0 });
  const thisUpdate = new Date(T0.getTime() + 3_600_000);
  const crlDer = buildCrl(issuer, { number: 2n ** 100n, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 86_400_000), entries: [{ serialNumber: revoked.cert.serialNumber, revocationDate: thisUpdate, reason: 1 }] });

  it('a CRL the core parses back: number, entry, reason', () => {
    const crl = parseCrl(crlDer);
    assert.equal(crlNumberOf(crl), 2n ** 100n);
    assert.equal(crl.revoked.length, 1);
    assert.ok(crl.revoked[0]?.serialNumber.equals(revoked.cert.serialNumber));
    assert.equal(crlEntryReasonOf(crl.revoked[0] as never), 1);
  });

  it('the validator refuses the listed certificate with it, and keeps the other', () => {
    const at = new Date(thisUpdate.getTime() + 60_000);
    const crls = [parseCrl(crlDer)];
    const gone = verifyChain({ leaf: revoked.cert, anchors: [root.cert], intermediates: [], time: at, options: { purpose: 'client', crls } });
    assert.equal(gone.ok ? 'ok' : gone.code, 'CERT_REVOKED');
    if (!gone.ok && gone.code === 'CERT_REVOKED') assert.equal(gone.context.reason, 'keyCompromise');
    assert.equal(verifyChain({ leaf: kept.cert, anchors: [root.cert], intermediates: [], time: at, options: { purpose: 'client', crls } }).ok, true);
  });

  it('openssl reads and verifies the CRL', () => {
    tmp.write('root.pem', root.pem);
    tmp.write('built.crl', crlDer);
    const text = openssl(['crl', '-inform', 'DER', '-in', 'built.crl', '-CAfile', 'root.pem', '-noout', '-text'], tmp.dir).toString();
    assert.match(text, /Key Compromise/);
    assert.match(text, new RegExp(`CRL Number: \\n\\s+${(2n ** 100n).toString()}`));
  });

  it('a device certificate names its CRL and OCSP responder when the profile gives them (openssl reads them)', () => {
    const pair = newKey();
    const issued = issueCertificate(issuer, {
      subject: parseSubjectString('/O=acme/CN=with-urls'),
      publicKey: parseSubjectPublicKeyInfo(spkiDer(pair), 'device key'),
      validity: { notBefore: T0, notAfter: new Date(T0.getTime() + 86_400_000) },
      profile: { kind: 'device', revocationUrls: { crl: 'http://pki.example/v1/pki/cas/ca-1/crl', ocsp: 'http://pki.example/v1/pki/ocsp' } },
    });
    const cert = parseCertificate(issued.der);
    const aia = cert.extensions.find((e) => e.oid === '1.3.6.1.5.5.7.1.1');
    assert.ok(aia && cert.extensions.some((e) => e.oid === '2.5.29.31'));
    tmp.write('urls.der', issued.der);
    const text = openssl(['x509', '-inform', 'DER', '-in', 'urls.der', '-noout', '-ext', 'crlDistributionPoints,authorityInfoAccess'], tmp.dir).toString();
    assert.match(text, /URI:http:\/\/pki\.example\/v1\/pki\/cas\/ca-1\/crl/);
    assert.match(text, /OCSP - URI:http:\/\/pki\.example\/v1\/pki\/ocsp/);
    // Without URLs, neither extension.
    const plain = parseCertificate(issueCertificate(issuer, { subject: parseSubjectString('/O=acme/CN=plain'), publicKey: parseSubjectPublicKeyInfo(spkiDer(pair), 'k'), validity: { notBefore: T0, notAfter: new Date(T0.getTime() + 86_400_000) }, profile: { kind: 'device' } }).der);
    assert.equal(plain.extensions.some((e) => e.oid === '2.5.29.31' || e.oid === '1.3.6.1.5.5.7.1.1'), false);
  });

  it('refuses a nextUpdate before thisUpdate and a negative number', () => {
    assert.throws(() => buildCrl(issuer, { number: 1n, thisUpdate, nextUpdate: thisUpdate, entries: [] }), (e: unknown) => (e as { code?: string }).code === 'INVALID_VALIDITY');
    assert.throws(() => buildCrl(issuer, { number: -1n, thisUpdate, nextUpdate: new Date(thisUpdate.getTime() + 1000), entries: [] }), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
  });

  it('an openssl OCSP request is read, and the response built for it verifies in openssl', () => {
    tmp.write('kept.pem', kept.pem);
    openssl(['ocsp', '-issuer', 'root.pem', '-cert', 'kept.pem', '-reqout', 'req.der', '-nonce'], tmp.dir);
    const request = parseOcspRequest(tmp.read('req.der'));
    assert.equal(request.certIds.length, 1);
    assert.ok(request.certIds[0]?.serialNumber.equals(kept.cert.serialNumber));
    assert.ok(request.certIds[0]?.issuerNameHash.equals(createHash('sha1').update(root.cert.subject.der).digest()));
    assert.ok(request.nonce);
    const response = buildOcspResponse({
      signer: issuer.signer,
      responderKeyHash: createHash('sha1').update(root.cert.publicKey.keyBytes).digest(),
      producedAt: new Date(),
      nonce: request.nonce,
      responses: [{ certId: request.certIds[0] as never, certStatus: { status: 'good' }, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 3_600_000) }],
    });
    tmp.write('resp.der', response);
    // openssl exits non-zero on a response that does not verify (signature, nonce), so this is the check.
    const verified = opensslStatus(['ocsp', '-respin', 'resp.der', '-reqin', 'req.der', '-issuer', 'root.pem', '-CAfile', 'root.pem', '-resp_text'], tmp.dir);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stderr, /Response verify OK/);
    assert.match(verified.stdout, /Cert Status: good/);
  });
});
