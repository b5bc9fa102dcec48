import cluster from 'node:cluster';
import { Option, type Command } from 'commander';
import { CliError } from '../cli-error.js';
import { DEFAULT_DATA_DIR, DEFAULT_GATEWAY_PORT, DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT, DEFAULT_COAP_PORT } from '../serve-defaults.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError('USAGE', `not a port number: ${value}`);
  return n;
}

/** Repeatable; from the environment, one comma-separated list (names never hold a comma). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((name) => name.trim()).filter((name) => name !== '')];
}

interface ServeFlags {
  dataDir: string;
  database?: string;
  host: string;
  httpPort: number;
  gatewayPort: number;
  mqttPort: number;
  coapPort: number;
  hostname?: string[];
  tlsCert?: string;
  tlsKey?: string;
  resetAdminKey?: boolean;
  pkcs11Module?: string;
  pkcs11Token?: string;
  publicUrl?: string;
  allowPrivateCrlUrls?: boolean;
  allowPrivateWebhooks?: boolean;
  workers: number;
  drainSeconds: number;
  metricsPort?: number;
  metricsHost: string;
  maxPendingHandshakes: number;
  validatedChainCache: number;
  forwardAuthPort?: number;
  forwardAuthHost: string;
  redis?: string;
  forwardAuthCertHeader: 'x-ssl-client-cert' | 'x-forwarded-tls-client-cert';
  tokenKeyRotationDays: number;
  tokenKeyPublishLeadSeconds: number;
}

/** Bound on --workers: more processes than cores only add contention. */
export const MAX_WORKERS = 64;

/** Bound on --drain-seconds: a drain longer than a few minutes is an outage of its own. */
const MAX_DRAIN_SECONDS = 600;

function drainSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > MAX_DRAIN_SECONDS) throw new CliError('USAGE', `--drain-seconds must be a number from 0 to ${MAX_DRAIN_SECONDS}, got "${value}"`);
  return n;
}

/** A flag's parser for a whole number within bounds, refusing anything else with USAGE. */
function wholeNumber(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new CliError('USAGE', `${flag} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${value}"`);
    return n;
  };
}

/** Handshakes in progress a transport allows before refusing new connections (per worker). */
const pendingHandshakes = wholeNumber('--max-pending-handshakes', 1, 100_000);
const workerCount = wholeNumber('--workers', 1, MAX_WORKERS);
/** Remembered device chains per worker; 0 validates every handshake's chain from scratch. */
const validatedChainCache = wholeNumber('--validated-chain-cache', 0, 50_000_000);
/** Device-token signing keys (the server's TOKEN_KEY_*_BOUNDS): days each key signs, and how long a new one is published before. */
const tokenKeyRotationDays = wholeNumber('--token-key-rotation-days', 1, 3650);
const tokenKeyPublishLeadSeconds = wholeNumber('--token-key-publish-lead-seconds', 0, 7 * 24 * 3600);

/** Where a TLS-terminating proxy puts the client certificate: nginx's $ssl_client_escaped_cert or Traefik's passTLSClientCert. */
const FORWARD_AUTH_CERT_HEADERS = ['x-ssl-client-cert', 'x-forwarded-tls-client-cert'] as const;

function forwardAuthCertHeader(value: string): ServeFlags['forwardAuthCertHeader'] {
  const name = value.trim().toLowerCase();
  const known = FORWARD_AUTH_CERT_HEADERS.find((header) => header === name);
  if (known === undefined) throw new CliError('USAGE', `--forward-auth-cert-header must be X-SSL-Client-Cert (nginx) or X-Forwarded-Tls-Client-Cert (Traefik), got "${value}"`);
  return known;
}

/** The token PIN comes from the environment, never a flag (flags show in the process list). */
export const PKCS11_PIN_ENV = 'FLEETPKI_PKCS11_PIN';

/**
 * A `serve` option that may also come from the environment (issue 18, 6): `FLEETPKI_<FLAG>`, the
 * flag winning when both are given; `fleetpki serve --help` lists each variable. Secrets have
 * variables only (FLEETPKI_MASTER_KEY, FLEETPKI_PKCS11_PIN): flags show in the process list.
 */
function envOption(flags: string, description: string, ...rest: unknown[]): Option {
  const env = rest.pop() as string;
  const option = new Option(flags, description).env(env);
  const [parserOrDefault, defaultValue] = rest;
  if (typeof parserOrDefault === 'function') {
    option.argParser(parserOrDefault as (value: string, previous: unknown) => unknown);
    if (defaultValue !== undefined) option.default(defaultValue);
  } else if (parserOrDefault !== undefined) option.default(parserOrDefault);
  return option;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform: management API and device gateway, on SQLite in --data-dir or on PostgreSQL with --database')
    .addOption(envOption('--data-dir <dir>', 'where the SQLite store, platform keys and admin API key live', DEFAULT_DATA_DIR, 'FLEETPKI_DATA_DIR'))
    .addOption(envOption('--database <url>', 'postgres://user@host:port/db instead of SQLite (several servers may share it)', 'FLEETPKI_DATABASE'))
    .addOption(envOption('--host <address>', 'bind address', '127.0.0.1', 'FLEETPKI_HOST'))
    .addOption(envOption('--http-port <port>', 'management API port', port, DEFAULT_HTTP_PORT, 'FLEETPKI_HTTP_PORT'))
    .addOption(envOption('--gateway-port <port>', 'device HTTPS port (client certificates required)', port, DEFAULT_GATEWAY_PORT, 'FLEETPKI_GATEWAY_PORT'))
    .addOption(envOption('--mqtt-port <port>', 'MQTT over TLS port (client certificates required)', port, DEFAULT_MQTT_PORT, 'FLEETPKI_MQTT_PORT'))
    .addOption(envOption('--coap-port <port>', 'CoAP over DTLS 1.2 UDP port (device certificate or pre-shared key)', port, DEFAULT_COAP_PORT, 'FLEETPKI_COAP_PORT'))
    .addOption(envOption('--hostname <name>', 'a DNS name or IP address for the server certificate (repeatable; default localhost and 127.0.0.1)', collect, 'FLEETPKI_HOSTNAME'))
    .addOption(envOption('--tls-cert <file>', 'your own server certificate chain (PEM) instead of one from the platform root', 'FLEETPKI_TLS_CERT'))
    .addOption(envOption('--tls-key <file>', 'the key of --tls-cert', 'FLEETPKI_TLS_KEY'))
    .addOption(envOption('--reset-admin-key', 'revoke the admin API key and make a new one (shown once, written to <data-dir>/admin-api-key)', 'FLEETPKI_RESET_ADMIN_KEY'))
    .addOption(envOption('--pkcs11-module <file>', 'a PKCS#11 module for managed CA keys (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so); PIN in $' + 'FLEETPKI_PKCS11_PIN', 'FLEETPKI_PKCS11_MODULE'))
    .addOption(envOption('--pkcs11-token <label>', 'the token label for --pkcs11-module', 'FLEETPKI_PKCS11_TOKEN'))
    .addOption(envOption('--allow-private-crl-urls', 'let CA certificates’ crlUrl point at loopback, link-local or private addresses (refused by default: the server fetches them)', 'FLEETPKI_ALLOW_PRIVATE_CRL_URLS'))
    .addOption(envOption('--allow-private-webhooks', 'let webhook URLs point at loopback, link-local or private addresses (refused by default: the server posts to them)', 'FLEETPKI_ALLOW_PRIVATE_WEBHOOKS'))
    .addOption(envOption('--public-url <url>', 'the management API as devices and relying parties reach it: issued certificates name their CRL and OCSP URLs under it (default: the URL it listens on)', 'FLEETPKI_PUBLIC_URL'))
    .addOption(envOption('--metrics-port <port>', 'serve GET /metrics without a key on this port of its own (else only on the management port, with the admin key)', port, 'FLEETPKI_METRICS_PORT'))
    .addOption(envOption('--metrics-host <address>', 'where --metrics-port binds (the scrape names projects: keep it private)', '127.0.0.1', 'FLEETPKI_METRICS_HOST'))
    .addOption(
      envOption(
        '--forward-auth-port <port>',
        'serve GET /v1/forward-auth on this port of its own, for a TLS-terminating proxy (nginx auth_request, Traefik forwardAuth); shared secret in $' + 'FLEETPKI_FORWARD_AUTH_SECRET',
        port,
        'FLEETPKI_FORWARD_AUTH_PORT',
      ),
    )
    .addOption(
      envOption('--redis <url>', 'share the MQTT broker (messages, retained messages, persistent sessions) with every server given the same Redis: redis://[user:password@]host[:port][/db]', 'FLEETPKI_REDIS'),
    )
    .addOption(envOption('--forward-auth-host <address>', 'where --forward-auth-port binds (it trusts the certificate header: only the proxy may reach it)', '127.0.0.1', 'FLEETPKI_FORWARD_AUTH_HOST'))
    .addOption(
      envOption('--forward-auth-cert-header <name>', 'the one header forward-auth reads the certificate from: X-SSL-Client-Cert (nginx) or X-Forwarded-Tls-Client-Cert (Traefik)', forwardAuthCertHeader, 'x-ssl-client-cert', 'FLEETPKI_FORWARD_AUTH_CERT_HEADER'),
    )
    .addOption(envOption('--drain-seconds <n>', 'on SIGTERM, how long /readyz answers 503 while everything still serves, before the listeners close', drainSeconds, 5, 'FLEETPKI_DRAIN_SECONDS'))
    .addOption(
      envOption('--max-pending-handshakes <n>', 'TLS and DTLS handshakes in progress (per worker, HTTPS, MQTT and CoAP each) past which new device connections are refused at once (a DTLS ClientHello is dropped), not queued to time out', pendingHandshakes, 512, 'FLEETPKI_MAX_PENDING_HANDSHAKES'),
    )
    .addOption(
      envOption(
        '--validated-chain-cache <n>',
        'device certificate chains each worker remembers as validated, so a reconnecting device skips path validation (about 0.8 KiB each; see the README)',
        validatedChainCache,
        1_000_000,
        'FLEETPKI_VALIDATED_CHAIN_CACHE',
      ),
    )
    .addOption(envOption('--token-key-rotation-days <n>', 'a new device-token signing key every this many days (made by one server at a time)', tokenKeyRotationDays, 30, 'FLEETPKI_TOKEN_KEY_ROTATION_DAYS'))
    .addOption(
      envOption(
        '--token-key-publish-lead-seconds <n>',
        'how long a new device-token signing key is in the JWKS before it signs: longer than relying parties cache the JWKS',
        tokenKeyPublishLeadSeconds,
        3600,
        'FLEETPKI_TOKEN_KEY_PUBLISH_LEAD_SECONDS',
      ),
    )
    .addOption(envOption('--workers <n>', 'server processes sharing the ports (node:cluster), e.g. one per core; needs explicit ports', workerCount, 1, 'FLEETPKI_WORKERS'))
    .action(async (flags: ServeFlags) => {
      if (flags.workers > 1 && cluster.isPrimary) {
        await superviseWorkers(flags);
        return;
      }
      if ((flags.pkcs11Module === undefined) !== (flags.pkcs11Token === undefined)) throw new CliError('USAGE', '--pkcs11-module and --pkcs11-token go together');
      const pin = process.env[PKCS11_PIN_ENV];
      if (flags.pkcs11Module !== undefined && pin === undefined) throw new CliError('USAGE', `--pkcs11-module needs the token PIN in $${PKCS11_PIN_ENV}`);
      // Loaded here, not at the top: the server package is most of a CLI start (serve-defaults.ts).
      const { startServer } = await import('@fleetpki/server');
      const server = await startServer({
        dataDir: flags.dataDir,
        database: flags.database,
        host: flags.host,
        httpPort: flags.httpPort,
        gatewayPort: flags.gatewayPort,
        mqttPort: flags.mqttPort,
        coapPort: flags.coapPort,
        hostnames: flags.hostname,
        tlsCertFile: flags.tlsCert,
        tlsKeyFile: flags.tlsKey,
        publicUrl: flags.publicUrl,
        allowPrivateCrlUrls: flags.allowPrivateCrlUrls === true,
        allowPrivateWebhooks: flags.allowPrivateWebhooks === true,
        drainSeconds: flags.drainSeconds,
        maxPendingHandshakes: flags.maxPendingHandshakes,
        validatedChainCache: flags.validatedChainCache,
        // Under --workers the primary serves the aggregated scrape on --metrics-port.
        metricsPort: cluster.isWorker ? undefined : flags.metricsPort,
        metricsHost: flags.metricsHost,
        forwardAuthPort: flags.forwardAuthPort,
        forwardAuthHost: flags.forwardAuthHost,
        redis: flags.redis,
        forwardAuthCertHeader: flags.forwardAuthCertHeader,
        tokenKeys: { rotationDays: flags.tokenKeyRotationDays, publishLeadSeconds: flags.tokenKeyPublishLeadSeconds },
        // Under --workers the primary has already done it, once.
        resetAdminKey: flags.resetAdminKey === true && !cluster.isWorker,
        pkcs11: flags.pkcs11Module !== undefined && flags.pkcs11Token !== undefined && pin !== undefined ? { module: flags.pkcs11Module, tokenLabel: flags.pkcs11Token, pin } : undefined,
      });
      // Graceful shutdown: stop accepting, finish requests in flight, close the store, exit 0.
      // A cluster worker stops on its primary's signal; the primary relays SIGTERM/SIGINT.
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          // A cluster worker's IPC channel to its primary would keep it alive: let go of it last.
          void server.close().then(() => {
            cluster.worker?.disconnect();
            done();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}

/**
 * `--workers N`: the primary prepares the data directory and store once (migrations, platform
 * keys, the admin key shown once, the master key) so the workers do not race to create them,
 * then forks N workers that run the whole server on the same ports (the cluster module shares
 * the listening sockets). SIGTERM/SIGINT are relayed; the primary exits when every worker has,
 * with the first failure's status if a worker died on its own.
 */
async function superviseWorkers(flags: ServeFlags): Promise<void> {
  if (flags.httpPort === 0 || flags.gatewayPort === 0 || flags.mqttPort === 0 || flags.forwardAuthPort === 0) {
    throw new CliError('USAGE', '--workers needs explicit ports: with port 0 every worker would pick its own');
  }
  const { silentLogger, startServer } = await import('@fleetpki/server');
  const prepared = await startServer({
    dataDir: flags.dataDir,
    database: flags.database,
    host: flags.host,
    httpPort: 0,
    gatewayPort: 0,
    mqttPort: 0,
    hostnames: flags.hostname,
    tlsCertFile: flags.tlsCert,
    tlsKeyFile: flags.tlsKey,
    resetAdminKey: flags.resetAdminKey,
    logger: silentLogger,
  });
  await prepared.close();
  const { serveClusterMetrics } = await import('@fleetpki/server');
  const clusterMetrics = flags.metricsPort === undefined ? undefined : await serveClusterMetrics(flags.metricsPort, flags.metricsHost);
  if (clusterMetrics) process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'metrics listening', url: clusterMetrics.url, workers: flags.workers })}\n`);
  let stopping = false;
  let failure: number | undefined;
  const workers = Array.from({ length: flags.workers }, () => cluster.fork());
  const stop = (): void => {
    stopping = true;
    for (const worker of workers) if (!worker.isDead()) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((done) =>
          worker.once('exit', (code, signal) => {
            if (!stopping) {
              failure ??= code ?? 1;
              process.stderr.write(`fleetpki: worker ${worker.process.pid ?? '?'} exited (${signal ?? code}); stopping the others\n`);
              stop();
            }
            done();
          }),
        ),
    ),
  );
  process.off('SIGTERM', stop);
  process.off('SIGINT', stop);
  await clusterMetrics?.close();
  if (failure !== undefined) process.exitCode = failure;
}
