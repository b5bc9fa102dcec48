import type { RunningServer } from '@fleetpki/server';
import type { DeviceFiles } from './device-clients.js';

/** Where a device finds the server: the gateways, and the server CA file it checks them against. */
export interface GatewayUnderTest {
  readonly urls: Pick<RunningServer, 'gatewayUrl' | 'mqttUrl' | 'coapUrl'>;
  readonly serverCaFile: string;
}

/** What one connection attempt showed the device. */
export interface Attempt {
  readonly admitted: boolean;
  /**
   * The transport's own verdict: the HTTP status ('200', '403'), the CoAP response code ('2.05',
   * '4.03'), or the MQTT CONNACK as mosquitto words it ('accepted', 'not authorised').
   */
  readonly status: string;
  /** The JSON the gateway answered: the identity, or a problem with its code. Undefined over MQTT, whose CONNACK has no body. */
  readonly body: Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** What the client printed, for assertion messages. */
  readonly output: string;
}

/** A real client, run as a device developer would, that connects once and reports what it saw. */
export interface DeviceClient {
  readonly name: string;
  /** Whether it sends the intermediates in its certificate file with the leaf (coap-client-openssl sends the leaf alone). */
  readonly sendsIntermediates: boolean;
  /** Connects as the device with `files` (no client certificate when undefined); `env` reaches the client (OPENSSL_CONF). */
  attempt(gateway: GatewayUnderTest, files: DeviceFiles | undefined, env?: NodeJS.ProcessEnv): Promise<Attempt>;
}

/** An admitted session kept open, so a test can see the server end it. */
export interface HeldSession {
  /** What the gateway said about the device while holding it (HTTPS answers the identity); undefined where the session carries none. */
  readonly identity: Record<string, unknown> | undefined;
  /** The milliseconds from `since` to the server ending the session; rejects with "still open" after `timeoutMs`. */
  closedAfter(since: number, timeoutMs: number): Promise<number>;
  end(): void;
}

/** One of the device transports, as a test drives it. */
export interface Transport {
  /** As the audit log's `details.transport` names it. */
  readonly name: 'https' | 'mqtt' | 'coap';
  /** The real clients tests connect with; the first where any one will do. */
  readonly clients: readonly [DeviceClient, ...DeviceClient[]];
  /**
   * Whether a device is told who it is, or why it was refused: HTTPS and CoAP answer JSON (the
   * identity, or a problem with its code); an MQTT CONNACK carries a return code only, so over
   * MQTT the audit log alone has the code.
   */
  readonly answersWithBody: boolean;
  /** The status a refusal with `code` is answered with (Attempt.status). */
  refusalStatus(code: string): string;
  /** Connects as the device and keeps the session open; throws if the gateway refused it where the client can tell. */
  hold(gateway: GatewayUnderTest, files: DeviceFiles): Promise<HeldSession>;
}

/** `closedAfter` over a promise of the moment a session closed. */
export async function closedAfter(closed: Promise<number>, since: number, timeoutMs: number): Promise<number> {
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs).unref());
  const closedAt = await Promise.race([closed, timeout]);
  if (closedAt === undefined) throw new Error(`the session was still open after ${timeoutMs} ms`);
  return closedAt - since;
}
