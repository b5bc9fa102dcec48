import type { ServiceDeps } from '../shared/service-deps.js';

/** What "expiring soon" means on the projects list (issue 17, 4). */
export const EXPIRING_SOON_DAYS = 7;

/**
 * For each project slug, how many of its certificates expire within EXPIRING_SOON_DAYS: active
 * device certificates of the inventory and enabled CA certificates, not yet expired. Two grouped
 * queries over the (project, notAfter) indexes for a page of projects.
 */
export async function expiringSoonCounts(deps: ServiceDeps, slugs: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(slugs.map((slug) => [slug, 0]));
  if (slugs.length === 0) return counts;
  const now = deps.now();
  const from = now.toISOString();
  const to = new Date(now.getTime() + EXPIRING_SOON_DAYS * 24 * 3600 * 1000).toISOString();
  const [devices, cas] = await Promise.all([
    deps.db
      .selectFrom('device_certificates as c')
      .innerJoin('projects as p', 'p.id', 'c.project_id')
      .select(['p.slug', (eb) => eb.fn.countAll<number>().as('n')])
      .where('p.slug', 'in', [...slugs])
      .where('c.status', '=', 'active')
      .where('c.not_after', '>', from)
      .where('c.not_after', '<=', to)
      .groupBy('p.slug')
      .execute(),
    deps.db
      .selectFrom('ca_certificates as c')
      .innerJoin('projects as p', 'p.id', 'c.project_id')
      .select(['p.slug', (eb) => eb.fn.countAll<number>().as('n')])
      .where('p.slug', 'in', [...slugs])
      .where('c.enabled', '=', 1)
      .where('c.not_after', '>', from)
      .where('c.not_after', '<=', to)
      .groupBy('p.slug')
      .execute(),
  ]);
  for (const row of [...devices, ...cas]) counts.set(row.slug, (counts.get(row.slug) ?? 0) + Number(row.n));
  return counts;
}
