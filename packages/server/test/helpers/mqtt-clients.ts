import { execFile, spawn } from 'node:child_process';
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

/** A length-prefixed UTF-8 string or binary field (MQTT 3.1.1 §1.5.3). */
function field(value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** MQTT's remaining-length encoding (§2.2.3). */
function remainingLength(length: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = length % 128;
    length = Math.floor(length / 128);
    if (length > 0) byte |= 0x80;
    bytes.push(byte);
  } while (length > 0);
  return Buffer.from(bytes);
}

/**
 * An MQTT 3.1.1 CONNECT (§3.1) with keep-alive 60 s, the given client ID, (unless asked
 * otherwise) clean session, and a username and password when given (an application's).
 */
export function connectPacket(clientId: string, cleanSession = true, credentials?: { readonly username: string; readonly password: string }): Buffer {
  const flags = (cleanSession ? 0x02 : 0x00) | (credentials ? 0xc0 : 0x00);
  const body = Buffer.concat([field('MQTT'), Buffer.from([0x04, flags, 0x00, 0x3c]), field(clientId), ...(credentials ? [field(credentials.username), field(credentials.password)] : [])]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** A raw MQTT-over-TLS session: CONNECT sent, CONNACK's return code read, the socket kept. */
export async function rawMqttSession(mqttUrl: string, serverCaPem: string, certPem: string, keyPem: string, clientId: string): Promise<{ returnCode: number; socket: TLSSocket; closed: Promise<number> }> {
  return rawSession(mqttUrl, serverCaPem, { cert: certPem, key: keyPem }, connectPacket(clientId));
}

/** A raw MQTT-over-TLS session of an application: no client certificate, the project slug and an API key as credentials. */
export async function rawApplicationSession(mqttUrl: string, serverCaPem: string, username: string, password: string, clientId = ''): Promise<{ returnCode: number; socket: TLSSocket; closed: Promise<number> }> {
  return rawSession(mqttUrl, serverCaPem, {}, connectPacket(clientId, true, { username, password }));
}

async function rawSession(mqttUrl: string, serverCaPem: string, credentials: { cert?: string; key?: string }, connect_: Buffer): Promise<{ returnCode: number; socket: TLSSocket; closed: Promise<number> }> {
  const port = Number(new URL(mqttUrl.replace('mqtts:', 'https:')).port);
  const socket = connect({ host: 'localhost', port, servername: 'localhost', ca: serverCaPem, ...credentials });
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
  const returnCode = await new Promise<number>((resolve, reject) => {
    socket.once('secureConnect', () => socket.write(connect_));
    socket.once('data', (chunk: Buffer) => (chunk[0] === 0x20 ? resolve(chunk[3] ?? -1) : reject(new Error(`not a CONNACK: ${chunk.toString('hex')}`))));
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return { returnCode, socket, closed };
}

/** A mosquitto_sub left running: `subscribed` once its SUBACK came (its -d output says so), `done` at its exit. */
export interface RunningSubscriber {
  readonly subscribed: Promise<void>;
  readonly done: Promise<ToolResult>;
  /** The messages it printed so far (with -v: `topic payload`). */
  lines(): string[];
  stop(): void;
}

/** Starts mosquitto_sub with `-d` (debug lines tell when the SUBACK arrives); `args` add the rest. */
export function startSubscriber(mqttUrl: string, serverCa: string, files: DeviceFiles | undefined, args: readonly string[]): RunningSubscriber {
  const port = new URL(mqttUrl.replace('mqtts:', 'https:')).port;
  const credentials = files ? ['--cert', files.cert, '--key', files.key] : [];
  // stdout is a pipe, so mosquitto_sub's stdio would hold its lines until it exits: line-buffered instead.
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', '-h', 'localhost', '-p', port, '--cafile', serverCa, ...credentials, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let markSubscribed: () => void = () => {};
  const subscribed = new Promise<void>((resolve) => (markSubscribed = resolve));
  const take = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.includes('received SUBACK')) markSubscribed();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const done = new Promise<ToolResult>((resolve) => child.once('exit', (code) => (clearTimeout(killer), resolve({ exit: code ?? -1, output }))));
  return {
    subscribed,
    done,
    lines: () => output.split('\n').filter((line) => line !== '' && !line.startsWith('Client ') && !line.startsWith('Subscribed') && line !== 'Timed out'),
    stop: () => child.kill('SIGTERM'),
  };
}
