import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { DEFAULT_DATA_DIR, DEFAULT_GATEWAY_PORT, DEFAULT_HTTP_PORT, DEFAULT_MQTT_PORT, DEFAULT_COAP_PORT } from '../serve-defaults.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError('USAGE', `not a port number: ${value}`);
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
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
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the platform: management API and device gateway, on SQLite in --data-dir or on PostgreSQL with --database')
    .option('--data-dir <dir>', 'where the SQLite store, platform keys and admin API key live', DEFAULT_DATA_DIR)
    .option('--database <url>', 'postgres://user@host:port/db instead of SQLite (several servers may share it)')
    .option('--host <address>', 'bind address', '127.0.0.1')
    .option('--http-port <port>', 'management API port', port, DEFAULT_HTTP_PORT)
    .option('--gateway-port <port>', 'device HTTPS port (client certificates required)', port, DEFAULT_GATEWAY_PORT)
    .option('--mqtt-port <port>', 'MQTT over TLS port (client certificates required)', port, DEFAULT_MQTT_PORT)
    .option('--coap-port <port>', 'CoAP over DTLS 1.2 UDP port (device certificate or pre-shared key)', port, DEFAULT_COAP_PORT)
    .option('--hostname <name>', 'a DNS name or IP address for the server certificate (repeatable; default localhost and 127.0.0.1)', collect)
    .option('--tls-cert <file>', 'your own server certificate chain (PEM) instead of one from the platform root')
    .option('--tls-key <file>', 'the key of --tls-cert')
    .option('--reset-admin-key', 'revoke the admin API key and make a new one (shown once, written to <data-dir>/admin-api-key)')
    .action(async (flags: ServeFlags) => {
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
        resetAdminKey: flags.resetAdminKey,
      });
      // Graceful shutdown: stop accepting, finish requests in flight, close the store, exit 0.
      await new Promise<void>((done) => {
        const stop = (): void => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
          void server.close().then(done);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}
