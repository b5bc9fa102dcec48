import type { ApplicationCredential } from '../domain/management/index.js';

/**
 * Where an application (a project API key on the broker, docs/mqtt-applications.md) may go: it
 * reads its whole project and sends commands to its devices, never anything outside the project.
 */

/** The server's own level under a device's prefix (mqtt-renewal-notices.ts): nobody else publishes there. */
const SERVER_LEVEL = '$fleetpki';

/** The broker-side client ID of an application's session: never a device's `{projectId}/{certificateId}`. */
export function applicationBrokerClientId(application: Pick<ApplicationCredential, 'projectId'>, clientId: string): string {
  // Device IDs start with a project slug, which never starts with `$`; the slug in the middle keeps
  // two projects' applications that chose the same client ID apart.
  return `$app/${application.projectId}/${clientId}`;
}

/**
 * Whether an application may subscribe to `filter`: anything under `{projectId}/`, wildcards
 * included (`{projectId}/#`, `{projectId}/+/telemetry`). The first level is literal, so no
 * wildcard can reach another project.
 */
export function mayApplicationSubscribe(application: Pick<ApplicationCredential, 'projectId' | 'scopes'>, filter: string): boolean {
  const prefix = `${application.projectId}/`;
  return application.scopes.includes('mqtt:subscribe') && filter.length > prefix.length && filter.startsWith(prefix);
}

/**
 * Whether an application may publish to `topic`: a command to one device, under
 * `{projectId}/{certificateId}/…` (at least one level below the device), never under the server's
 * `$fleetpki` level. PUBLISH topics hold no wildcards (the broker refuses them first).
 */
export function mayApplicationPublish(application: Pick<ApplicationCredential, 'projectId' | 'scopes'>, topic: string): boolean {
  if (!application.scopes.includes('mqtt:publish')) return false;
  const levels = topic.split('/');
  return levels.length >= 3 && levels[0] === application.projectId && levels[1] !== '' && levels[2] !== SERVER_LEVEL && levels.slice(2).join('/') !== '';
}

/** The device a publication to `topic` is addressed to, as the key its retained-message bound is counted under. */
export function addressedDevice(topic: string): string {
  const levels = topic.split('/');
  return `${levels[0]}/${levels[1]}`;
}
