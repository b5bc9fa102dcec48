import { COAP } from './transport-coap.js';
import { HTTPS } from './transport-https.js';
import { MQTT } from './transport-mqtt.js';
import type { Transport } from './transport.js';

/**
 * Every device transport, as DIALECTS is every store: a suite about what all transports share
 * (who is admitted, what is refused and audited, which sessions end when a device or CA is
 * switched off) runs once per transport, with the same cases and assertions.
 */
export const TRANSPORTS: readonly Transport[] = [HTTPS, MQTT, COAP];
