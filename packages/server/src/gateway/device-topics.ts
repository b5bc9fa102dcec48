import type { AuthenticatedDevice } from '../domain/identity/index.js';

/** The topic prefix a device owns (issue 5): `{projectId}/{certificateId}/`. */
export function topicPrefix(device: Pick<AuthenticatedDevice, 'projectId' | 'certificateId'>): string {
  return `${device.projectId}/${device.certificateId}/`;
}

/**
 * Whether a device may publish to `topic` or subscribe to `filter`: only under its own prefix.
 * The prefix is literal (slugs and certificate IDs hold no `+`, `#` or `/`), so a filter that
 * starts with it cannot reach another device's topics through a wildcard.
 */
export function isOwnTopic(device: Pick<AuthenticatedDevice, 'projectId' | 'certificateId'>, topicOrFilter: string): boolean {
  const prefix = topicPrefix(device);
  return topicOrFilter.length > prefix.length && topicOrFilter.startsWith(prefix);
}
