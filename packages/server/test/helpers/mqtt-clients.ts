import { execFile } from 'node:child_process';
import { connect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import type { DeviceFiles } from './device-clients.js';

const run = promisify(execFile);

export interface ToolResult {
  readonly exit: number;
  readonly output: string;
}

/**
 * mosquitto_pub / mosquitto_sub from Debian's mosquitto-clients, with the device's files (none:
 * no client certificate). `env` reaches the client's OpenSSL (OPENSSL_CONF).
 */
export async function mosquitto(tool: 'mosquitto_pub' | 'mosquitto_sub', mqttUrl: string, serverCa: string, files: DeviceFiles | undefined, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ToolResult> {
  const port = new URL(mqttUrl.replace('mqtts:', 'https:')).port;
  const credentials = files ? ['--cert', files.cert, '--key', files.key] : [];
  try {
    const { stdout, stderr } = await run(tool, ['-h', 'localhost', '-p', port, '--cafile', serverCa, ...credentials, ...args], { timeout: 15_000, encoding: 'utf8', env: { ...process.env, ...env } });
    return { exit: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { exit: typeof e.code === 'number' ? e.code : -1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

/** An MQTT 3.1.1 CONNECT (§3.1) with keep-alive 60 s, the given client ID and (unless asked otherwise) clean session. */
export function connectPacket(clientId: string, cleanSession = true): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([Buffer.from([0x00, 0x04]), Buffer.from('MQTT'), Buffer.from([0x04, cleanSession ? 0x02 : 0x00, 0x00, 0x3c]), Buffer.from([id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** A raw MQTT-over-TLS session: CONNECT sent, CONNACK's return code read, the socket kept. */
export async function rawMqttSession(mqttUrl: string, serverCaPem: string, certPem: string, keyPem: string, clientId: string): Promise<{ returnCode: number; socket: TLSSocket; closed: Promise<number> }> {
  const port = Number(new URL(mqttUrl.replace('mqtts:', 'https:')).port);
  const socket = connect({ host: 'localhost', port, servername: 'localhost', ca: serverCaPem, cert: certPem, key: keyPem });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  const returnCode = await new Promise<number>((resolve, reject) => {
    socket.once('secureConnect', () => socket.write(connectPacket(clientId)));
    socket.once('data', (chunk: Buffer) => (chunk[0] === 0x20 ? resolve(chunk[3] ?? -1) : reject(new Error(`not a CONNACK: ${chunk.toString('hex')}`))));
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { returnCode, socket, closed };
}
