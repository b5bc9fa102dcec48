import { CliError } from '../cli-error.js';
import type { DeviceCredentials, DeviceGateway } from './device-gateway.js';
import { HttpsDeviceGateway } from './https-device-gateway.js';

/** The gateway a URL names: `https://host:port` or `coaps://host:port`. */
export async function openDeviceGateway(url: string, credentials: DeviceCredentials): Promise<DeviceGateway> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError('USAGE', `--url must be https://host:port or coaps://host:port, got "${url}"`);
  }
  if (parsed.protocol === 'https:') return new HttpsDeviceGateway(parsed, credentials);
  if (parsed.protocol === 'coaps:') {
    // Loaded only for CoAP: it brings the DTLS addon and node-coap.
    const { CoapDeviceGateway } = await import('./coap-device-gateway.js');
    return CoapDeviceGateway.connect(parsed, credentials);
  }
  throw new CliError('USAGE', `--url must be https://… or coaps://…, got "${parsed.protocol}"`);
}

