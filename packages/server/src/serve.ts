import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { issueFastPath } from './http/issue-fast-path.js';
import { cmpFastPath } from './http/cmp-fast-path.js';
import { DEFAULT_MAX_PENDING_HANDSHAKES } from './gateway/handshake-admission.js';
import { CmpServices, EnrollmentTokenSecrets, UnconfirmedCmpCertificates } from './domain/issuance/index.js';
import { authenticateApplication, ensureAdminKey, liveApiKeys, revokeAdminKeys } from './domain/management/index.js';
import { mqttCluster as connectMqttCluster, type MqttCluster } from './gateway/mqtt-cluster.js';
import { defaultConsoleDir } from './http/console-static.js';
import { createManagementApp } from './http/create-app.js';
import { listen } from './listen.js';
import { jsonLogger, type Logger } from './logger.js';
import { ensurePlatformPki, type PlatformPki } from './platform/platform-pki.js';
import { readIfExists, writeFileAtomically } from './platform/secret-files.js';
import { DEFAULT_SERVER_HOSTNAMES, parseServerNames } from './platform/tls-names.js';
import { ADMIN_KEY_FILE, refuseExposedDataDir } from './platform/data-dir-permissions.js';
import { StartupError } from './startup-error.js';
import { AuthenticationJournal } from './domain/identity/index.js';
import { ConnectionReview, DeviceAuthenticator } from './domain/identity/index.js';
import { CrlFetcher, ManagedCaPublication, RevocationSets } from './domain/revocation/index.js';
import { ExpiryAlerts, type ExpiryAlertPass } from './domain/lifecycle/index.js';
import { ocspFastPath } from './http/ocsp-fast-path.js';
import { ProjectAnchorCache } from './domain/identity/index.js';
import { ConnectionEnforcer } from './gateway/connection-enforcer.js';
import { ConnectionRegistry } from './gateway/connection-registry.js';
import { startDeviceHttps } from './gateway/device-https.js';
import { startDeviceMqtt } from './gateway/device-mqtt.js';
import { startDeviceCoap } from './gateway/device-coap.js';
import { FORWARD_AUTH_PATH, startForwardAuth, type ForwardAuth } from './gateway/forward-auth.js';
import { NGINX_CERT_HEADER, type ForwardAuthCertHeader } from './gateway/forward-auth-header.js';
import { FORWARD_AUTH_SECRET_ENV, forwardAuthSecretProblem } from './gateway/forward-auth-secret.js';
import type { DtlsLimits } from './gateway/dtls-server.js';
import { PskAuthenticator } from './domain/identity/index.js';
import { deviceTlsOptions } from './gateway/tls-server-options.js';
import { openStore, type Store } from './store/open-store.js';
import { CaKeyVault } from './domain/authorities/index.js';
import { IssuanceRecorder } from './domain/issuance/index.js';
import { kyselyRecordSink, type IssuanceRecordSink } from './domain/issuance/index.js';
import { sqliteIssuanceWriter, type SqliteIssuanceWriter } from './store/sqlite-issuance-writer.js';
import { Readiness } from './platform/readiness.js';
import { PrometheusMetrics } from './platform/prometheus-metrics.js';
import { offerWorkerMetrics } from './platform/cluster-metrics.js';
import { readinessChecks } from './platform/readiness-checks.js';
import { IssuingCaCache } from './domain/authorities/index.js';
import type { KeyToken } from './domain/authorities/index.js';
import type { PkiDeps } from './domain/issuance/index.js';
import { openPkcs11Token, type Pkcs11Options } from './domain/signers/index.js';
import { masterKeySource, MASTER_KEY_ENV } from './platform/master-key.js';
import { claimMasterKey } from './platform/master-key-claim.js';
import { MasterKeySealer } from './platform/master-key-sealer.js';
import { DeviceTokenIssuer, TokenKeyRing, TokenKeyRotation, type TokenKeyRotationPass } from './domain/tokens/index.js';
import { WebhookDeliveryLoop, type WebhookDeliveryOptions } from './domain/webhooks/index.js';

export { ADMIN_KEY_FILE };
export const DEFAULT_DATA_DIR = './fleetpki-data';
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_GATEWAY_PORT = 8443;
export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_COAP_PORT = 5684;
export const SERVER_VERSION = '0.1.0';

export interface ServeOptions {
  readonly dataDir?: string | undefined;
  /** `postgres://…`; SQLite in the data directory when absent. */
  readonly database?: string | undefined;
  readonly host?: string | undefined;
  /** 0 picks a free port (tests). */
  readonly httpPort?: number | undefined;
  /** Device HTTPS with client certificates; 0 picks a free port. */
  readonly gatewayPort?: number | undefined;
  /** MQTT over TLS with client certificates; 0 picks a free port. */
  readonly mqttPort?: number | undefined;
  /** CoAP over DTLS 1.2 (UDP); 0 picks a free port. */
  readonly coapPort?: number | undefined;
  /** DTLS bounds and timers (tests shorten the handshake deadline). */
  readonly coapLimits?: Partial<DtlsLimits> | undefined;
  /** FLEETPKI_MASTER_KEY and the like (default: process.env). */
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly hostnames?: readonly string[] | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Revoke the admin key(s) and make a new one (an operator who lost the key file). */
  readonly resetAdminKey?: boolean | undefined;
  /** Where the one-time admin key message goes (default: standard error). */
  readonly announce?: ((text: string) => void) | undefined;
  readonly now?: (() => Date) | undefined;
  /** The built web console (default: the monorepo's packages/console/dist/app). */
  readonly consoleDir?: string | undefined;
  /** The master key sealing managed CA keys (64 hex digits or base64); default FLEETPKI_MASTER_KEY, else <data-dir>/master.key. */
  readonly masterKey?: string | undefined;
  /**
   * The management API's URL as devices and relying parties reach it (behind a proxy, a public
   * name): issued certificates carry their CA's CRL and OCSP URLs under it. Default: the URL the
   * management API listens on.
   */
  readonly publicUrl?: string | undefined;
  /** CRL URLs may point at loopback, link-local or private addresses (default: refused, an SSRF guard). */
  readonly allowPrivateCrlUrls?: boolean | undefined;
  /** TLS handshakes in progress (per process and transport) past which new device connections are refused at once. */
  readonly maxPendingHandshakes?: number | undefined;
  /** Device chains remembered as validated, per process (default DEFAULT_VALIDATED_CHAINS). */
  readonly validatedChainCache?: number | undefined;
  /** How often this server looks for CRLs to fetch (tests shorten it), and how long a URL's lease lasts. */
  readonly crlFetch?: { readonly intervalMs?: number; readonly leaseMs?: number } | undefined;
  /** How often expiry alerts are looked for, and their lease (tests shorten them). */
  readonly expiryAlerts?: { readonly intervalMs?: number; readonly leaseMs?: number } | undefined;
  /**
   * On close, how long `/readyz` answers 503 before the listeners close, so a load balancer takes
   * the server out while it still serves (`serve --drain-seconds`, 5 there; 0 here by default).
   */
  readonly drainSeconds?: number | undefined;
  /** `--metrics-port`: GET /metrics without a key on a listener of its own (else only on the management port, with the admin key). */
  readonly metricsPort?: number | undefined;
  /** Where that listener binds (default loopback: the scrape names projects). */
  readonly metricsHost?: string | undefined;
  /** A PKCS#11 token for managed CA keys (`keyStorage: "pkcs11"`). */
  readonly pkcs11?: Pkcs11Options | undefined;
  /**
   * Device-token signing keys: how long a new key is published before it signs
   * (`--token-key-publish-lead-seconds`), how many days each signs (`--token-key-rotation-days`),
   * and the rotation pass's interval and lease and the keys' re-read interval (tests shorten them).
   */
  readonly tokenKeys?: { readonly publishLeadSeconds?: number; readonly rotationDays?: number; readonly intervalMs?: number; readonly leaseMs?: number; readonly refreshMs?: number } | undefined;
  /** Webhook targets may be loopback, link-local or private addresses (default: refused, an SSRF guard). */
  readonly allowPrivateWebhooks?: boolean | undefined;
  /** Webhook delivery timings: poll, lease, backoff, retry window, concurrency (tests shorten them). */
  readonly webhooks?: WebhookDeliveryOptions | undefined;
  /** `--forward-auth-port`: GET /v1/forward-auth for a TLS-terminating proxy on a listener of its own (none when absent; 0 picks a free port). */
  readonly forwardAuthPort?: number | undefined;
  /** Where that listener binds (default loopback: it trusts the certificate header, so only the proxy may reach it). */
  readonly forwardAuthHost?: string | undefined;
  /** The header the proxy sends the certificate in (default nginx's X-SSL-Client-Cert); the other is ignored. */
  readonly forwardAuthCertHeader?: ForwardAuthCertHeader | undefined;
  /** The shared secret the proxy sends in Fleetpki-Forward-Auth-Secret; default FLEETPKI_FORWARD_AUTH_SECRET from `env`. */
  readonly forwardAuthSecret?: string | undefined;
  /**
   * `--redis URL`: the MQTT broker shares messages, retained messages and persistent sessions with
   * every server given the same Redis (docs/mqtt-applications.md); without it, this process's broker
   * is on its own.
   */
  readonly redis?: string | undefined;
  /** How often CMP certificates left unconfirmed past their window are looked for (tests shorten it). */
  readonly cmpUnconfirmedIntervalMs?: number | undefined;
}

export interface RunningServer {
  readonly httpUrl: string;
  readonly gatewayUrl: string;
  readonly mqttUrl: string;
  /** `coaps://host:port` (UDP). */
  readonly coapUrl: string;
  /** DTLS state this process holds: established sessions and half-open handshakes (past the cookie). */
  coapStats(): { sessions: number; halfOpen: number; blockBytes: number };
  /** The management app itself, without the issue fast path in front (tests compare the two answers). */
  readonly managementFetch: (request: Request) => Response | Promise<Response>;
  /** `--metrics-port`'s listener (`…/metrics`), when asked for. */
  readonly metricsUrl: string | undefined;
  /** `--forward-auth-port`'s listener (`…/v1/forward-auth`), when asked for. */
  readonly forwardAuthUrl: string | undefined;
  /** The expiry alerts of this server, so a test can run a pass at a time it chooses. */
  readonly expiryAlerts: { tick(): Promise<ExpiryAlertPass> };
  /** The token signing keys' rotation pass, so a test can run one at a time it chooses. */
  readonly tokenKeyRotation: { tick(): Promise<TokenKeyRotationPass> };
  readonly dataDir: string;
  readonly store: Store;
  readonly platform: PlatformPki;
  /** Set only on the start that created the admin key: it is shown once. */
  readonly adminApiKey: string | undefined;
  /** Stops accepting, lets requests in flight finish (bounded), closes the store. */
  close(): Promise<void>;
}

/** In-flight requests get this long to finish on shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? jsonLogger();
  const now = options.now ?? (() => new Date());
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  // Certificates will carry URLs under it (IA5String): an http(s) URL in ASCII, checked before anything starts.
  if (options.publicUrl !== undefined && (!/^https?:\/\/[\x21-\x7e]+$/.test(options.publicUrl) || !URL.canParse(options.publicUrl))) {
    throw new StartupError('INVALID_OPTION', `--public-url must be an http:// or https:// URL in ASCII, got ${JSON.stringify(options.publicUrl)}`);
  }
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StartupError('DATA_DIR_UNUSABLE', `cannot create the data directory ${dataDir}: ${(error as Error).message}`);
  }
  refuseExposedDataDir(dataDir);
  const forwardAuthSecret = options.forwardAuthSecret ?? (options.env ?? process.env)[FORWARD_AUTH_SECRET_ENV];
  const secretProblem = forwardAuthSecret === undefined || options.forwardAuthPort === undefined ? undefined : forwardAuthSecretProblem(forwardAuthSecret);
  if (secretProblem !== undefined) throw new StartupError('INVALID_OPTION', `${secretProblem} ($${FORWARD_AUTH_SECRET_ENV})`);
  const names = parseServerNames(options.hostnames ?? DEFAULT_SERVER_HOSTNAMES);
  if (options.database !== undefined && !/^postgres(ql)?:\/\//.test(options.database)) {
    throw new StartupError('INVALID_OPTION', '--database takes a postgres:// URL; without it the store is SQLite in the data directory');
  }
  const store = await openStore(options.database ? { kind: 'postgres', url: options.database } : { kind: 'sqlite', dataDir }).catch((error: unknown) => {
    throw new StartupError('DATABASE_UNAVAILABLE', `cannot open the store: ${(error as Error).message}`);
  });
  let keyToken: KeyToken | undefined;
  let recorder: IssuanceRecorder | undefined;
  try {
    const sealer = new MasterKeySealer(masterKeySource(dataDir, options.masterKey ?? (options.env ?? process.env)[MASTER_KEY_ENV]));
    const vault = new CaKeyVault(sealer);
    keyToken = options.pkcs11 ? await openPkcs11Token(options.pkcs11) : undefined;
    let recordSink: IssuanceRecordSink = kyselyRecordSink(store.db);
    let writer: SqliteIssuanceWriter | undefined;
    if (store.dialect === 'sqlite') {
      writer = sqliteIssuanceWriter(store.location, (error) => logger.log('error', 'the issuance writer thread stopped; issuance fails until restart', { error: error.message }));
      recordSink = writer;
      await writer.ready.catch((error: unknown) => {
        throw new StartupError('DATABASE_UNAVAILABLE', `cannot start the issuance writer: ${(error as Error).message}`);
      });
    }
    // Issued certificates name their CA's CRL and OCSP responder under this URL (known once listening).
    const published: { url: string | undefined } = { url: undefined };
    // The metrics read the connection registry and the journal, made further down.
    const late = { connections: (): Readonly<Record<string, number>> => ({}), journalPending: () => 0 };
    const metrics = new PrometheusMetrics({ db: store.db, dialect: store.dialect, connections: () => late.connections(), journalPending: () => late.journalPending() });
    // A transaction of this process may have written webhook events: the delivery loop looks at once.
    const webhookWake = { current: (): void => {} };
    store.observeTransactions((seconds) => {
      metrics.storeTransaction(seconds);
      webhookWake.current();
    });
    offerWorkerMetrics(metrics.registry);
    const cmpServices = new CmpServices();
    const deps: PkiDeps = {
      telemetry: metrics,
      db: store.db,
      now,
      vault,
      enrollmentSecrets: new EnrollmentTokenSecrets(sealer),
      cmp: cmpServices,
      keyToken,
      issuingCas: new IssuingCaCache(store.db, vault, keyToken),
      recorder: (recorder = new IssuanceRecorder(recordSink)),
      projectAnchors: new ProjectAnchorCache(store.db),
      publicUrl: () => published.url,
      allowPrivateCrlUrls: options.allowPrivateCrlUrls === true,
    };
    const platform = await ensurePlatformPki({
      dataDir,
      names,
      now: now(),
      db: store.db,
      tlsCertPem: options.tlsCertFile ? readFileSync(options.tlsCertFile) : undefined,
      tlsKeyPem: options.tlsKeyFile ? readFileSync(options.tlsKeyFile) : undefined,
    });
    for (const event of platform.events) logger.log('info', event, { dataDir });
    await claimMasterKey(store.db, sealer);
    const adminKeyFile = join(dataDir, ADMIN_KEY_FILE);
    if (options.resetAdminKey) {
      const revoked = await revokeAdminKeys(deps);
      logger.log('info', 'revoked the admin API key(s) for --reset-admin-key', { count: revoked });
    }
    const admin = await ensureAdminKey(deps, {
      keep(key) {
        try {
          writeFileAtomically(dataDir, ADMIN_KEY_FILE, `${key}\n`, 0o600);
        } catch (error) {
          throw new StartupError('DATA_DIR_UNUSABLE', `cannot write the admin API key to ${adminKeyFile}: ${(error as Error).message}`);
        }
      },
      discard(key) {
        if (readIfExists(dataDir, ADMIN_KEY_FILE)?.toString('utf8').trim() === key) rmSync(adminKeyFile, { force: true });
      },
    });
    if (admin) {
      // Shown once to the person starting the server, on the terminal's error stream: never in
      // the JSON log, which collectors ship and keep.
      (options.announce ?? ((text: string) => process.stderr.write(text)))(
        `\nfleetpki: created the admin API key (shown only now; also in ${adminKeyFile}, mode 0600):\n\n  ${admin.key}\n\n`,
      );
      logger.log('info', 'created the admin API key', { file: adminKeyFile, prefix: admin.prefix });
    }
    const publication = new ManagedCaPublication(deps);
    // Device tokens name the platform URL as their issuer and are asked for on the gateway (both known once listening).
    const gatewayUrl = { current: '' };
    const tokenKeys = new TokenKeyRing(deps, sealer, { publishLeadSeconds: options.tokenKeys?.publishLeadSeconds, refreshMs: options.tokenKeys?.refreshMs });
    const tokens = new DeviceTokenIssuer(deps, tokenKeys, { issuer: () => published.url ?? '', issued: (transport) => metrics.deviceTokenIssued(transport) });
    const readiness = new Readiness(readinessChecks({ db: store.db, dialect: store.dialect, writer, sealer, keyToken }));
    const app = createManagementApp({ deps, logger, platformRoot: platform.root, version: SERVER_VERSION, consoleDir: options.consoleDir ?? defaultConsoleDir(), sealer, publication, readiness, metrics, allowPrivateWebhooks: options.allowPrivateWebhooks === true, tokens: { keys: tokenKeys, issuer: () => published.url ?? '', gatewayUrl: () => gatewayUrl.current } });
    const countRoute = (route: string, status: number) => metrics.httpRequest(route, status);
    const server = createServer(issueFastPath(deps, logger, cmpFastPath(deps, logger, ocspFastPath(publication, logger, getRequestListener(app.fetch), countRoute), countRoute), countRoute));
    const host = options.host ?? '127.0.0.1';
    const httpUrl = await listen(server, options.httpPort ?? DEFAULT_HTTP_PORT, host, 'http').catch((error: Error) => {
      throw new StartupError('INVALID_OPTION', `cannot listen on ${host}:${options.httpPort ?? DEFAULT_HTTP_PORT}: ${error.message}`);
    });
    published.url = options.publicUrl ?? httpUrl;

    const registry = new ConnectionRegistry();
    late.connections = () => registry.countsByTransport();
    const revocations = new RevocationSets(store.db);
    const enforcer = new ConnectionEnforcer(deps, new ConnectionReview(deps, revocations), registry, logger);
    const journal = new AuthenticationJournal(store.db, (error) => logger.log('error', 'cannot write authentication events', { error: error.message }), metrics);
    late.journalPending = () => journal.pendingEvents;
    // One identity service and one TLS configuration behind every device transport.
    const transport = {
      authenticator: new DeviceAuthenticator(deps, deps.projectAnchors, journal, revocations, options.validatedChainCache),
      registry,
      pki: deps,
      tls: deviceTlsOptions(platform.serverChainPem, platform.serverKeyPem),
      host,
      logger,
      maxPendingHandshakes: options.maxPendingHandshakes ?? DEFAULT_MAX_PENDING_HANDSHAKES,
      admissionRejected: (which: 'https' | 'mqtt' | 'coap') => metrics.deviceAdmissionRejected(which),
    };
    cmpServices.useResponder(platform.serverChainPem, platform.serverKeyPem);
    cmpServices.useAuthenticator((chain) => transport.authenticator.authenticate(chain, { transport: 'cmp' }));
    const gateway = await startDeviceHttps({ ...transport, serverRootDer: platform.serverRootDer, tokens, port: options.gatewayPort ?? DEFAULT_GATEWAY_PORT }).catch((error: Error) => {
      server.close();
      throw new StartupError('INVALID_OPTION', `cannot listen on ${host}:${options.gatewayPort ?? DEFAULT_GATEWAY_PORT} for the device gateway: ${error.message}`);
    });
    gatewayUrl.current = gateway.url;
    const mqttCluster = await joinMqttCluster(options.redis, logger).catch(async (error: Error) => {
      server.close();
      await gateway.close();
      throw error;
    });
    const applications = { authenticate: (slug: string | undefined, password: Buffer | undefined) => authenticateApplication(deps, slug, password), liveKeys: (ids: readonly string[]) => liveApiKeys(deps, ids) };
    const mqtt = await startDeviceMqtt({ ...transport, applications, cluster: mqttCluster, port: options.mqttPort ?? DEFAULT_MQTT_PORT }).catch(async (error: Error) => {
      server.close();
      await Promise.allSettled([gateway.close(), mqttCluster?.close()]);
      throw new StartupError('INVALID_OPTION', `cannot listen on ${host}:${options.mqttPort ?? DEFAULT_MQTT_PORT} for MQTT: ${error.message}`);
    });
    const coap = await startDeviceCoap({
      authenticator: transport.authenticator,
      psk: new PskAuthenticator(deps, sealer, journal),
      registry,
      pki: deps,
      tokens,
      certChainPem: platform.serverChainPem,
      keyPem: platform.serverKeyPem,
      host,
      port: options.coapPort ?? DEFAULT_COAP_PORT,
      logger,
      // One bound on handshakes in progress for every transport: DTLS's half-open sessions are its handshakes.
      limits: { maxHalfOpen: transport.maxPendingHandshakes, ...options.coapLimits },
      admissionRejected: transport.admissionRejected,
    }).catch(async (error: Error) => {
      server.close();
      await Promise.all([gateway.close(), mqtt.close()]);
      throw new StartupError('INVALID_OPTION', `cannot listen on ${host}:${options.coapPort ?? DEFAULT_COAP_PORT} (UDP) for CoAP: ${error.message}`);
    });
    const forwardAuthHost = options.forwardAuthHost ?? '127.0.0.1';
    let forwardAuth: ForwardAuth | undefined;
    if (options.forwardAuthPort !== undefined) {
      forwardAuth = await startForwardAuth({
        authenticator: transport.authenticator,
        host: forwardAuthHost,
        port: options.forwardAuthPort,
        certHeader: options.forwardAuthCertHeader ?? NGINX_CERT_HEADER,
        secret: forwardAuthSecret,
        logger,
        answered: (status, code) => metrics.forwardAuthAnswer(status, code),
      }).catch(async (error: Error) => {
        server.close();
        await Promise.all([gateway.close(), mqtt.close(), coap.close()]);
        throw new StartupError('INVALID_OPTION', `cannot listen on ${forwardAuthHost}:${options.forwardAuthPort} for forward-auth: ${error.message}`);
      });
      logger.log('info', 'forward-auth listening', { url: `${forwardAuth.url}${FORWARD_AUTH_PATH}`, certHeader: options.forwardAuthCertHeader ?? NGINX_CERT_HEADER, secret: forwardAuthSecret !== undefined });
      if (forwardAuthSecret === undefined && !/^(127\.|::1$|localhost$)/.test(forwardAuthHost)) {
        logger.log('warn', 'forward-auth listens beyond loopback without a shared secret: anyone who reaches it can claim any certificate', { host: forwardAuthHost, env: FORWARD_AUTH_SECRET_ENV });
      }
    }
    enforcer.start();
    const crlFetcher = new CrlFetcher(deps, logger, { allowPrivate: options.allowPrivateCrlUrls === true, intervalMs: options.crlFetch?.intervalMs, leaseMs: options.crlFetch?.leaseMs });
    crlFetcher.start();
    const expiryAlerts = new ExpiryAlerts(deps, logger, { intervalMs: options.expiryAlerts?.intervalMs, leaseMs: options.expiryAlerts?.leaseMs });
    expiryAlerts.start();
    const unconfirmedCmp = new UnconfirmedCmpCertificates(deps, logger, options.cmpUnconfirmedIntervalMs);
    unconfirmedCmp.start();
    const tokenKeyRotation = new TokenKeyRotation(deps, tokenKeys, logger, { rotationDays: options.tokenKeys?.rotationDays, intervalMs: options.tokenKeys?.intervalMs, leaseMs: options.tokenKeys?.leaseMs });
    tokenKeyRotation.start();
    const webhookDelivery = new WebhookDeliveryLoop(store.db, sealer, logger, now, options.allowPrivateWebhooks === true, options.webhooks);
    webhookWake.current = () => webhookDelivery.wake();
    webhookDelivery.start();
    // `--metrics-port`: the scrape on a listener of its own, without a key, on loopback.
    const metricsServer =
      options.metricsPort === undefined
        ? undefined
        : createServer((req, res) => {
            if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
              res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
              return;
            }
            metrics.scrape().then(
              ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
              (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`),
            );
          });
    const metricsUrl = metricsServer
      ? await listen(metricsServer, options.metricsPort as number, options.metricsHost ?? '127.0.0.1', 'http').catch(async (error: Error) => {
          server.close();
          await Promise.all([gateway.close(), mqtt.close(), coap.close(), forwardAuth?.close()]);
          throw new StartupError('INVALID_OPTION', `cannot listen on ${options.metricsHost ?? '127.0.0.1'}:${options.metricsPort} for metrics: ${error.message}`);
        })
      : undefined;
    if (metricsUrl) logger.log('info', 'metrics listening', { url: `${metricsUrl}/metrics` });
    logger.log('info', 'device gateway listening', { url: gateway.url, mqtt: mqtt.url, coap: coap.url });
    logger.log('info', 'management API listening', { url: httpUrl, openapi: `${httpUrl}/openapi.json`, store: store.dialect, location: store.location });
    let closing: Promise<void> | undefined;
    return {
      httpUrl,
      gatewayUrl: gateway.url,
      mqttUrl: mqtt.url,
      coapUrl: coap.url,
      coapStats: () => ({ sessions: coap.dtls.sessionCount, halfOpen: coap.dtls.halfOpenCount, blockBytes: coap.blockBytesInUse() }),
      managementFetch: (request) => app.fetch(request),
      metricsUrl: metricsUrl === undefined ? undefined : `${metricsUrl}/metrics`,
      forwardAuthUrl: forwardAuth === undefined ? undefined : `${forwardAuth.url}${FORWARD_AUTH_PATH}`,
      expiryAlerts,
      tokenKeyRotation,
      dataDir,
      store,
      platform,
      adminApiKey: admin?.key,
      close() {
        closing ??= (async () => {
          // Draining first: /readyz says 503 while everything still serves, then the listeners close.
          readiness.drain();
          const drainMs = Math.max(0, (options.drainSeconds ?? 0) * 1000);
          if (drainMs > 0) {
            logger.log('info', 'draining', { seconds: options.drainSeconds });
            await new Promise((done) => setTimeout(done, drainMs));
          }
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
          enforcer.stop();
          crlFetcher.stop();
          expiryAlerts.stop();
          unconfirmedCmp.stop();
          tokenKeyRotation.stop();
          const webhooksStopped = webhookDelivery.stop();
          metricsServer?.closeAllConnections();
          await Promise.all([closed, gateway.close(), mqtt.close(), coap.close(), forwardAuth?.close(), new Promise<void>((done) => (metricsServer ? metricsServer.close(() => done()) : done()))]);
          clearTimeout(timer);
          await webhooksStopped;
          await journal.flush();
          await deps.recorder.close();
          await store.close();
          keyToken?.close();
          logger.log('info', 'stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    keyToken?.close();
    await recorder?.close();
    await store.close();
    throw error;
  }
}

/** How long `serve --redis` waits for Redis to answer at start before giving up. */
const REDIS_START_TIMEOUT_MS = 10_000;

/** The Redis-backed broker state for `--redis`, once Redis answers; none without the option. */
async function joinMqttCluster(url: string | undefined, logger: Logger): Promise<MqttCluster | undefined> {
  if (url === undefined) return undefined;
  let cluster: MqttCluster;
  try {
    cluster = connectMqttCluster(url, (error) => logger.log('error', 'Redis connection failed; reconnecting', { error: error.message }));
  } catch (error) {
    throw new StartupError('INVALID_OPTION', `--redis: ${(error as Error).message}`);
  }
  try {
    await cluster.ready(REDIS_START_TIMEOUT_MS);
  } catch (error) {
    await cluster.close();
    throw new StartupError('REDIS_UNAVAILABLE', `cannot reach Redis for the MQTT broker: ${(error as Error).message}`);
  }
  return cluster;
}
