import { createPrivateKey, type KeyObject } from 'node:crypto';
import {
  createSelfSignedCa,
  encodePem,
  fingerprintSha256,
  generateEncodedKeyPair,
  issueCertificate,
  isPkiError,
  keyMatchesCertificate,
  loadCertificate,
  loadCertificates,
  loadPrivateKey,
  parseCertificate,
  parseSubjectString,
  prepareIssuer,
  validityForDays,
  verifySignature,
  type Certificate,
} from '@fleetpki/pki';
import type { Kysely } from 'kysely';
import { StartupError } from '../startup-error.js';
import type { Database } from '../store/schema.js';
import { isUniqueViolation } from '../store/constraint-violations.js';
import { readIfExists, writeFileAtomically } from './secret-files.js';
import type { ServerNames } from './tls-names.js';

export const ROOT_CERT_FILE = 'platform-root-ca.crt.pem';
export const ROOT_KEY_FILE = 'platform-root-ca.key.pem';
export const SERVER_CERT_FILE = 'server.crt.pem';
export const SERVER_KEY_FILE = 'server.key.pem';

/** DESIGN §5: like Golioth Root X1, an EC P-384 root for 20 years. */
const ROOT_SUBJECT = '/O=fleetpki/CN=fleetpki Root X1';
const ROOT_DAYS = 20 * 365 + 5;
/** The server certificate is short-lived and renewed on start when it nears its end. */
const SERVER_DAYS = 397;
const SERVER_RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
const ROOT_FINGERPRINT_SETTING = 'platform-root-fingerprint-sha256';

/** What the gateway presents and what devices pin. */
export interface PlatformPki {
  readonly root: Certificate;
  readonly rootPem: string;
  /** The server certificate chain (leaf first) and its key, PEM. */
  readonly serverChainPem: string;
  readonly serverKeyPem: string;
  readonly serverCertificate: Certificate;
  /** What this start did, for the log. */
  readonly events: readonly string[];
  /**
   * The root the server certificate chains to, DER, when it is known: fleetpki's own root, or
   * the self-issued top of an operator's --tls-cert chain; undefined when the operator's chain
   * stops below its root.
   */
  readonly serverRootDer: Buffer | undefined;
}

export interface PlatformPkiOptions {
  readonly dataDir: string;
  readonly names: ServerNames;
  readonly now: Date;
  readonly db: Kysely<Database>;
  /** Operator-supplied server credentials (--tls-cert/--tls-key) instead of our own. */
  readonly tlsCertPem?: Buffer | undefined;
  readonly tlsKeyPem?: Buffer | undefined;
}

/**
 * Makes sure the data directory holds the platform root and a current server certificate,
 * creating or renewing them as needed, and that the store agrees on which root this platform
 * uses (servers sharing a database must present one identity).
 */
export async function ensurePlatformPki(options: PlatformPkiOptions): Promise<PlatformPki> {
  const events: string[] = [];
  const { root, rootKey, rootPem } = loadOrCreateRoot(options, events);
  await claimRoot(options.db, root);
  if (options.tlsCertPem || options.tlsKeyPem) {
    return { root, rootPem, ...operatorCredentials(options), events };
  }
  const server = loadOrIssueServerCertificate(options, root, rootKey, events);
  return { root, rootPem, ...server, events, serverRootDer: root.der };
}

function ecKey(pem: Buffer): KeyObject {
  return loadPrivateKey(pem).key;
}

function loadOrCreateRoot(options: PlatformPkiOptions, events: string[]): { root: Certificate; rootKey: KeyObject; rootPem: string } {
  const certPem = readIfExists(options.dataDir, ROOT_CERT_FILE);
  const keyPem = readIfExists(options.dataDir, ROOT_KEY_FILE);
  if (certPem && keyPem) {
    const root = loadCertificate(certPem);
    const rootKey = ecKey(keyPem);
    if (!keyMatchesCertificate(rootKey, root)) {
      throw new StartupError('DATA_DIR_UNUSABLE', `${ROOT_KEY_FILE} is not the key of ${ROOT_CERT_FILE} in ${options.dataDir}`);
    }
    return { root, rootKey, rootPem: certPem.toString('utf8') };
  }
  if (certPem && !keyPem) throw new StartupError('DATA_DIR_UNUSABLE', `${ROOT_CERT_FILE} is in ${options.dataDir} but its key ${ROOT_KEY_FILE} is missing`);
  // No root yet (or only a key left by a start that died before writing the certificate).
  const pair = generateEncodedKeyPair({ kind: 'ec', curve: 'P-384' });
  const rootKey = createPrivateKey({ key: pair.privateKeyDer, format: 'der', type: 'sec1' });
  const issued = createSelfSignedCa({ subject: parseSubjectString(ROOT_SUBJECT), privateKey: rootKey, validity: validityForDays(options.now, ROOT_DAYS) });
  const rootPem = encodePem('CERTIFICATE', issued.der);
  writeFileAtomically(options.dataDir, ROOT_KEY_FILE, encodePem('EC PRIVATE KEY', pair.privateKeyDer), 0o600);
  writeFileAtomically(options.dataDir, ROOT_CERT_FILE, rootPem, 0o644);
  events.push(`created platform root "${ROOT_SUBJECT}" (EC P-384, ${ROOT_DAYS} days)`);
  return { root: parseCertificate(issued.der), rootKey, rootPem };
}

async function claimRoot(db: Kysely<Database>, root: Certificate): Promise<void> {
  const fingerprint = fingerprintSha256(root.der);
  try {
    await db.insertInto('platform_settings').values({ name: ROOT_FINGERPRINT_SETTING, value: fingerprint }).execute();
    return;
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
  }
  const recorded = await db.selectFrom('platform_settings').select('value').where('name', '=', ROOT_FINGERPRINT_SETTING).executeTakeFirstOrThrow();
  if (recorded.value !== fingerprint) {
    throw new StartupError(
      'PLATFORM_ROOT_MISMATCH',
      `this database belongs to a platform whose root has SHA-256 fingerprint ${recorded.value}, but the data directory holds ${fingerprint}; ` +
        `servers sharing a database must share ${ROOT_CERT_FILE} and ${ROOT_KEY_FILE} (copy them from the first server's data directory)`,
    );
  }
}

function namesOf(cert: Certificate): string {
  return (cert.subjectAltNames ?? [])
    .map((n) => (n.type === 'ip' ? `ip:${n.bytes.toString('hex')}` : n.type === 'dns' ? `dns:${n.value}` : ''))
    .sort()
    .join(',');
}

function wantedNames(names: ServerNames): string {
  return [...names.dnsNames.map((n) => `dns:${n}`), ...names.ipAddresses.map((ip) => `ip:${ip.toString('hex')}`)].sort().join(',');
}

function isCurrentServerCertificate(cert: Certificate, root: Certificate, options: PlatformPkiOptions): boolean {
  if (!cert.issuer.der.equals(root.subject.der)) return false;
  if (!verifySignature(cert.tbsDer, cert.signature, cert.signatureAlgorithm, root.publicKey)) return false;
  if (cert.notAfter.getTime() - options.now.getTime() < SERVER_RENEW_BEFORE_DAYS * DAY_MS) return false;
  return namesOf(cert) === wantedNames(options.names);
}

function loadOrIssueServerCertificate(
  options: PlatformPkiOptions,
  root: Certificate,
  rootKey: KeyObject,
  events: string[],
): { serverChainPem: string; serverKeyPem: string; serverCertificate: Certificate } {
  const certPem = readIfExists(options.dataDir, SERVER_CERT_FILE);
  const keyPem = readIfExists(options.dataDir, SERVER_KEY_FILE);
  if (certPem && keyPem) {
    const [cert] = loadCertificates(certPem);
    if (cert && keyMatchesCertificate(ecKey(keyPem), cert) && isCurrentServerCertificate(cert, root, options)) {
      return { serverChainPem: certPem.toString('utf8'), serverKeyPem: keyPem.toString('utf8'), serverCertificate: cert };
    }
  }
  // DESIGN §5: P-256, because every handshake signs with it and P-384 signs 30x slower.
  const pair = generateEncodedKeyPair({ kind: 'ec', curve: 'P-256' });
  const issuer = prepareIssuer(root, rootKey);
  const subjectName = options.names.dnsNames[0] ?? 'fleetpki server';
  const issued = issueCertificate(issuer, {
    subject: parseSubjectString(`/O=fleetpki/CN=${subjectName}`),
    publicKey: pair.publicKey,
    validity: validityForDays(options.now, SERVER_DAYS),
    profile: { kind: 'server', dnsNames: options.names.dnsNames, ipAddresses: options.names.ipAddresses },
  });
  const serverKeyPem = encodePem('EC PRIVATE KEY', pair.privateKeyDer);
  // The chain ends below the root: devices hold the root already (they pin it).
  const serverChainPem = encodePem('CERTIFICATE', issued.der);
  writeFileAtomically(options.dataDir, SERVER_KEY_FILE, serverKeyPem, 0o600);
  writeFileAtomically(options.dataDir, SERVER_CERT_FILE, serverChainPem, 0o644);
  events.push(certPem ? 'renewed the server certificate (names changed, near expiry, or not from this root)' : 'created the server certificate (EC P-256)');
  return { serverChainPem, serverKeyPem, serverCertificate: parseCertificate(issued.der) };
}

function operatorCredentials(options: PlatformPkiOptions): { serverChainPem: string; serverKeyPem: string; serverCertificate: Certificate; serverRootDer: Buffer | undefined } {
  if (!options.tlsCertPem || !options.tlsKeyPem) throw new StartupError('INVALID_OPTION', '--tls-cert and --tls-key go together');
  try {
    const chain = loadCertificates(options.tlsCertPem);
    const [leaf] = chain;
    const top = chain.at(-1);
    const key = loadPrivateKey(options.tlsKeyPem);
    if (!leaf) throw new StartupError('TLS_CREDENTIALS_INVALID', '--tls-cert holds no certificate');
    if (!keyMatchesCertificate(key.key, leaf)) throw new StartupError('TLS_CREDENTIALS_INVALID', '--tls-key is not the key of the first certificate in --tls-cert');
    return {
      serverChainPem: options.tlsCertPem.toString('utf8'),
      serverKeyPem: options.tlsKeyPem.toString('utf8'),
      serverCertificate: leaf,
      // Known only when the chain carries its self-issued top.
      serverRootDer: top && top.subject.der.equals(top.issuer.der) ? top.der : undefined,
    };
  } catch (error) {
    if (isPkiError(error)) throw new StartupError('TLS_CREDENTIALS_INVALID', `--tls-cert/--tls-key: ${error.message}`);
    throw error;
  }
}
