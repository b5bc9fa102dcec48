import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DAY_MS, makeDevice, makeForbiddenIntermediate, makeIntermediate, makeIssued, makeRoot, openssl, T0, tempDir, type Issued } from '@fleetpki/test-support';
import {
  isPkiError,
  isPkiErrorCode,
  loadCertificate,
  verifyChain,
  type Certificate,
  type ChainFailureCode,
} from '../src/index.js';

const at = (ms: number): Date => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

// One PKI issued at T0: root (10 years) → intermediate (1 year) → leaf (30 days), and more.
const root = makeRoot('/CN=Chain Root', { from: T0 });
const intermediate = makeIntermediate(root, '/CN=Chain Issuing CA', { from: T0 });
const leaf = makeDevice(intermediate, '/O=acme/CN=leaf-1', { from: T0 });
const directLeaf = makeDevice(root, '/O=acme/CN=direct-1', { from: T0 });
const otherRoot = makeRoot('/CN=Other Root', { from: T0 });
// Same subject as `root`, different key: a look-alike issuer.
const rootTwin = makeRoot('/CN=Chain Root', { from: T0 });
// A device certificate used as an issuer (signed with low-level pieces, bypassing prepareIssuer).
const deviceAsIssuer = makeDevice(root, '/O=acme/CN=rogue', { from: T0 });
const leafOfDevice = makeIssued(deviceAsIssuer, { subject: '/O=acme/CN=victim', profile: { kind: 'device' }, from: T0, days: 7, forge: true });
// pathLen chains.
const root0 = makeRoot('/CN=Root pathLen 0', { from: T0, pathLen: 0 });
const root0Int1 = makeForbiddenIntermediate(root0, '/CN=Root0 Int 1', { from: T0 });
const root0Int2 = makeForbiddenIntermediate(root0Int1, '/CN=Root0 Int 2', { from: T0 });
const root0Leaf2 = makeDevice(root0Int2, '/O=acme/CN=deep', { from: T0 });
const root0Leaf1 = makeDevice(root0Int1, '/O=acme/CN=mid', { from: T0 });
const root0Leaf0 = makeDevice(root0, '/O=acme/CN=flat', { from: T0 });
const root1 = makeRoot('/CN=Root pathLen 1', { from: T0, pathLen: 1 });
const root1Int = makeIntermediate(root1, '/CN=Root1 Int', { from: T0 });
const root1Leaf = makeDevice(root1Int, '/O=acme/CN=ok', { from: T0 });
const int0 = makeIntermediate(root, '/CN=Int pathLen 0', { from: T0, pathLen: 0 });
const int0Sub = makeForbiddenIntermediate(int0, '/CN=Below Int pathLen 0', { from: T0 });
const int0SubLeaf = makeDevice(int0Sub, '/O=acme/CN=below', { from: T0 });
// A straight line of 7 intermediates under `root`, for the depth bound (MAX_CHAIN_DEPTH 8, anchor included).
const ladder: Issued[] = [];
for (let i = 1; i <= 7; i++) ladder.push(makeIntermediate(ladder[i - 2] ?? root, `/CN=Ladder ${i}`, { from: T0 }));
const ladderLeaf6 = makeDevice(ladder[5] as Issued, '/O=acme/CN=rung-6', { from: T0 });
const ladderLeaf7 = makeDevice(ladder[6] as Issued, '/O=acme/CN=rung-7', { from: T0 });

interface ChainCase {
  readonly name: string;
  readonly leaf: Issued;
  readonly anchors: readonly Issued[];
  readonly intermediates?: readonly Issued[];
  readonly time: Date;
  /** The path expected (leaf first), or the failure and the certificate it concerns. */
  readonly expected: readonly Issued[] | { readonly code: ChainFailureCode; readonly certificate: Issued };
}

const CASES: readonly ChainCase[] = [
  { name: 'root → leaf', leaf: directLeaf, anchors: [root], time: at(HOUR), expected: [directLeaf, root] },
  { name: 'root → intermediate → leaf', leaf, anchors: [root], intermediates: [intermediate], time: at(HOUR), expected: [leaf, intermediate, root] },
  { name: 'intermediate as the trust anchor', leaf, anchors: [intermediate], time: at(HOUR), expected: [leaf, intermediate] },
  { name: 'irrelevant intermediates are ignored', leaf, anchors: [otherRoot, root], intermediates: [root0Int1, intermediate, int0], time: at(HOUR), expected: [leaf, intermediate, root] },
  { name: 'the leaf is itself an anchor', leaf: root, anchors: [root], time: at(HOUR), expected: [root] },
  { name: 'the look-alike anchor is skipped when the real one is present', leaf: directLeaf, anchors: [rootTwin, root], time: at(HOUR), expected: [directLeaf, root] },
  { name: 'valid at exactly notBefore', leaf: directLeaf, anchors: [root], time: directLeaf.cert.notBefore, expected: [directLeaf, root] },
  { name: 'valid at exactly notAfter (inclusive)', leaf: directLeaf, anchors: [root], time: directLeaf.cert.notAfter, expected: [directLeaf, root] },
  { name: 'one second after notAfter', leaf: directLeaf, anchors: [root], time: new Date(directLeaf.cert.notAfter.getTime() + 1000), expected: { code: 'CERT_EXPIRED', certificate: directLeaf } },
  // Validity is compared at whole seconds (the encoding's granularity), as x509-limbo's notafter-fractional expects.
  { name: 'one millisecond after notAfter is still within the encoded second', leaf: directLeaf, anchors: [root], time: new Date(directLeaf.cert.notAfter.getTime() + 1), expected: [directLeaf, root] },
  { name: 'expired leaf under a valid intermediate', leaf, anchors: [root], intermediates: [intermediate], time: at(31 * DAY_MS), expected: { code: 'CERT_EXPIRED', certificate: leaf } },
  { name: 'one second before notBefore', leaf: directLeaf, anchors: [root], time: at(-1000), expected: { code: 'CERT_NOT_YET_VALID', certificate: directLeaf } },
  { name: 'years before issuance', leaf, anchors: [root], intermediates: [intermediate], time: new Date('2020-01-01T00:00:00Z'), expected: { code: 'CERT_NOT_YET_VALID', certificate: leaf } },
  { name: 'unknown issuer', leaf: directLeaf, anchors: [otherRoot], time: at(HOUR), expected: { code: 'UNKNOWN_ISSUER', certificate: directLeaf } },
  { name: 'intermediate missing', leaf, anchors: [root], time: at(HOUR), expected: { code: 'UNKNOWN_ISSUER', certificate: leaf } },
  { name: 'no anchors at all', leaf, anchors: [], intermediates: [intermediate], time: at(HOUR), expected: { code: 'UNKNOWN_ISSUER', certificate: leaf } },
  { name: 'same issuer name, different key', leaf: directLeaf, anchors: [rootTwin], time: at(HOUR), expected: { code: 'CERT_SIGNATURE_INVALID', certificate: directLeaf } },
  { name: 'intermediate signed by a look-alike root', leaf, anchors: [rootTwin], intermediates: [intermediate], time: at(HOUR), expected: { code: 'CERT_SIGNATURE_INVALID', certificate: intermediate } },
  { name: 'a device certificate as intermediate', leaf: leafOfDevice, anchors: [root], intermediates: [deviceAsIssuer], time: at(HOUR), expected: { code: 'NOT_A_CA', certificate: deviceAsIssuer } },
  { name: 'a device certificate as trust anchor', leaf: leafOfDevice, anchors: [deviceAsIssuer], time: at(HOUR), expected: { code: 'NOT_A_CA', certificate: deviceAsIssuer } },
  { name: 'pathLen 0 root with two intermediates below', leaf: root0Leaf2, anchors: [root0], intermediates: [root0Int1, root0Int2], time: at(HOUR), expected: { code: 'PATH_LEN_EXCEEDED', certificate: root0 } },
  { name: 'pathLen 0 root with one intermediate below', leaf: root0Leaf1, anchors: [root0], intermediates: [root0Int1], time: at(HOUR), expected: { code: 'PATH_LEN_EXCEEDED', certificate: root0 } },
  { name: 'pathLen 0 root issuing the leaf directly', leaf: root0Leaf0, anchors: [root0], time: at(HOUR), expected: [root0Leaf0, root0] },
  { name: 'pathLen 1 root with one intermediate', leaf: root1Leaf, anchors: [root1], intermediates: [root1Int], time: at(HOUR), expected: [root1Leaf, root1Int, root1] },
  { name: 'pathLen 0 intermediate with a CA below it', leaf: int0SubLeaf, anchors: [root], intermediates: [int0, int0Sub], time: at(HOUR), expected: { code: 'PATH_LEN_EXCEEDED', certificate: int0 } },
  { name: 'pathLen 0 intermediate as anchor with a CA below it', leaf: int0SubLeaf, anchors: [int0], intermediates: [int0Sub], time: at(HOUR), expected: { code: 'PATH_LEN_EXCEEDED', certificate: int0 } },
  {
    name: 'six intermediates: a path of 8 with the anchor is the longest allowed',
    leaf: ladderLeaf6,
    anchors: [root],
    intermediates: ladder,
    time: at(HOUR),
    expected: [ladderLeaf6, ...ladder.slice(0, 6).reverse(), root],
  },
  { name: 'seven intermediates: a path of 9 → CHAIN_TOO_LONG', leaf: ladderLeaf7, anchors: [root], intermediates: ladder, time: at(HOUR), expected: { code: 'CHAIN_TOO_LONG', certificate: ladder[0] as Issued } },
];

function subjects(path: readonly Certificate[]): string[] {
  return path.map((c) => c.subject.der.toString('hex'));
}

describe('verifyChain', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const result = verifyChain({
        leaf: c.leaf.cert,
        anchors: c.anchors.map((a) => a.cert),
        intermediates: (c.intermediates ?? []).map((i) => i.cert),
        time: c.time,
      });
      if (Array.isArray(c.expected)) {
        const expectedPath = c.expected as readonly Issued[];
        assert.ok(result.ok, result.ok ? '' : `failed with ${result.code}`);
        assert.deepEqual(subjects(result.path), subjects(expectedPath.map((i) => i.cert)));
        result.path.forEach((cert, i) => assert.ok(cert.der.equals((expectedPath[i] as Issued).der), `path[${i}]`));
      } else {
        const expected = c.expected as { readonly code: ChainFailureCode; readonly certificate: Issued };
        assert.equal(result.ok, false);
        if (result.ok) return;
        assert.equal(result.code, expected.code);
        assert.ok(result.certificate.der.equals(expected.certificate.der), 'the failure names the wrong certificate');
      }
    });
  }
});

describe('verifyChain time argument', () => {
  // The validator reads no clock, so its time argument is trusted input: an Invalid Date
  // (NaN) makes every `<`/`>` comparison false, which must not read as "within validity".
  for (const [label, time] of [
    ['an Invalid Date', new Date(Number.NaN)],
    ['new Date("not a date")', new Date('not a date')],
  ] as const) {
    it(`${label} never verifies (a PkiError code or a failed result)`, () => {
      let outcome: string;
      try {
        const result = verifyChain({ leaf: leaf.cert, anchors: [root.cert], intermediates: [intermediate.cert], time });
        outcome = result.ok ? 'ok' : result.code;
      } catch (err) {
        outcome = isPkiError(err) ? err.code : `non-PkiError ${String(err)}`;
      }
      assert.notEqual(outcome, 'ok');
      assert.ok(isPkiErrorCode(outcome), outcome);
    });
  }
});

describe('verifyChain on openssl-made chains', () => {
  const tmp = tempDir('chain');
  const KEYS: readonly { name: string; genkey: readonly string[] }[] = [
    { name: 'P-256', genkey: ['ecparam', '-name', 'prime256v1', '-genkey', '-noout'] },
    { name: 'RSA-2048', genkey: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] },
  ];
  before(() => {
    tmp.write('int.ext', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    tmp.write('leaf.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    tmp.write('odd.ext', 'basicConstraints=critical,CA:FALSE\n1.2.3.4.5=critical,ASN1:NULL\n');
    tmp.write('ds.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature\n');
    for (const k of KEYS) {
      const p = k.name;
      for (const role of ['ca', 'int', 'leaf', 'ds']) openssl([...k.genkey, '-out', `${p}-${role}.key.pem`], tmp.dir);
      openssl(['req', '-x509', '-new', '-nodes', '-key', `${p}-ca.key.pem`, '-sha256', '-subj', '/CN=Root CA', '-days', '10', '-out', `${p}-ca.crt.pem`], tmp.dir);
      openssl(['req', '-new', '-key', `${p}-int.key.pem`, '-subj', '/CN=Intermediate CA', '-out', `${p}-int.csr.pem`], tmp.dir);
      openssl(['x509', '-req', '-in', `${p}-int.csr.pem`, '-CA', `${p}-ca.crt.pem`, '-CAkey', `${p}-ca.key.pem`, '-CAcreateserial', '-days', '5', '-sha256', '-extfile', 'int.ext', '-out', `${p}-int.crt.pem`], tmp.dir);
      openssl(['req', '-new', '-key', `${p}-leaf.key.pem`, '-subj', '/O=acme/CN=CERT-ID_01', '-out', `${p}-leaf.csr.pem`], tmp.dir);
      openssl(['x509', '-req', '-in', `${p}-leaf.csr.pem`, '-CA', `${p}-int.crt.pem`, '-CAkey', `${p}-int.key.pem`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', 'leaf.ext', '-out', `${p}-leaf.crt.pem`], tmp.dir);
      // The seed's exact command: no extfile, so a v1 certificate straight from the root.
      openssl(['x509', '-req', '-in', `${p}-leaf.csr.pem`, '-CA', `${p}-ca.crt.pem`, '-CAkey', `${p}-ca.key.pem`, '-CAcreateserial', '-days', '7', '-sha256', '-out', `${p}-seed.crt.pem`], tmp.dir);
      openssl(['x509', '-req', '-in', `${p}-leaf.csr.pem`, '-CA', `${p}-ca.crt.pem`, '-CAkey', `${p}-ca.key.pem`, '-CAcreateserial', '-days', '7', '-sha256', '-extfile', 'odd.ext', '-out', `${p}-odd.crt.pem`], tmp.dir);
      // A CA that may only sign data, and a leaf it signed anyway.
      openssl(['req', '-new', '-key', `${p}-ds.key.pem`, '-subj', '/CN=Signing Only CA', '-out', `${p}-ds.csr.pem`], tmp.dir);
      openssl(['x509', '-req', '-in', `${p}-ds.csr.pem`, '-CA', `${p}-ca.crt.pem`, '-CAkey', `${p}-ca.key.pem`, '-CAcreateserial', '-days', '5', '-sha256', '-extfile', 'ds.ext', '-out', `${p}-ds.crt.pem`], tmp.dir);
      openssl(['x509', '-req', '-in', `${p}-leaf.csr.pem`, '-CA', `${p}-ds.crt.pem`, '-CAkey', `${p}-ds.key.pem`, '-CAcreateserial', '-days', '2', '-sha256', '-out', `${p}-ds-leaf.crt.pem`], tmp.dir);
      // A device certificate (CA:FALSE) that signed another certificate.
      openssl(['x509', '-req', '-in', `${p}-int.csr.pem`, '-CA', `${p}-leaf.crt.pem`, '-CAkey', `${p}-leaf.key.pem`, '-CAcreateserial', '-days', '1', '-sha256', '-out', `${p}-under-leaf.crt.pem`], tmp.dir);
    }
  });
  after(() => tmp.cleanup());

  const load = (name: string): Certificate => loadCertificate(tmp.read(name));

  for (const k of KEYS) {
    const p = k.name;
    const CHAINS: readonly { name: string; leaf: string; intermediates: readonly string[]; expected: number | ChainFailureCode }[] = [
      { name: 'root → intermediate → leaf', leaf: `${p}-leaf.crt.pem`, intermediates: [`${p}-int.crt.pem`], expected: 3 },
      { name: 'the seed’s v1 device certificate', leaf: `${p}-seed.crt.pem`, intermediates: [], expected: 2 },
      { name: 'an unknown critical extension', leaf: `${p}-odd.crt.pem`, intermediates: [], expected: 'UNKNOWN_CRITICAL_EXTENSION' },
      { name: 'an issuer without keyCertSign', leaf: `${p}-ds-leaf.crt.pem`, intermediates: [`${p}-ds.crt.pem`], expected: 'ISSUER_KEY_USAGE' },
      { name: 'a CA:FALSE leaf as issuer', leaf: `${p}-under-leaf.crt.pem`, intermediates: [`${p}-leaf.crt.pem`, `${p}-int.crt.pem`], expected: 'NOT_A_CA' },
    ];
    for (const c of CHAINS) {
      it(`${p}: ${c.name}`, () => {
        const leafCert = load(c.leaf);
        // openssl stamps notBefore with the wall clock; judge the chain an hour into the leaf's life.
        const time = new Date(leafCert.notBefore.getTime() + HOUR);
        const result = verifyChain({ leaf: leafCert, anchors: [load(`${p}-ca.crt.pem`)], intermediates: c.intermediates.map(load), time });
        if (typeof c.expected === 'number') {
          assert.ok(result.ok, result.ok ? '' : `failed with ${result.code}`);
          assert.equal(result.path.length, c.expected);
        } else {
          assert.equal(result.ok ? 'ok' : result.code, c.expected);
        }
      });
    }
  }
});
