import { useEffect, useId, useState } from 'react';
import type { AuditEvent } from '../api';
import { ACTION_LABELS, AUTHENTICATION_ACTIONS, CHANGE_ACTIONS, explainRefusal, REFUSAL_ACTIONS } from '../messages';
import { useSession } from '../session';
import { ErrorMessage, formatDate, Loading, Pager, usePages, useResource } from '../ui';

const PER_PAGE = 50;
const AUDIT_POLL_MS = 5000;

const CATEGORIES = {
  all: { label: 'All events', actions: undefined },
  refusals: { label: 'Authentication refusals', actions: REFUSAL_ACTIONS },
  authentications: { label: 'Successful authentications', actions: AUTHENTICATION_ACTIONS },
  changes: { label: 'Changes', actions: CHANGE_ACTIONS },
} as const;
type Category = keyof typeof CATEGORIES;

/** The project's audit log (or, with `slug` null, the whole platform's), newest first, filterable. */
export function AuditPage({ slug }: { slug: string | null }) {
  const { api } = useSession();
  const [category, setCategory] = useState<Category>('all');
  const [targetId, setTargetId] = useState('');
  const [actor, setActor] = useState('');
  const pages = usePages();
  const actions = CATEGORIES[category].actions;
  const events = useResource(
    () => api.listAudit(slug, { cursor: pages.cursor, perPage: PER_PAGE, action: actions?.join(','), targetId: targetId.trim() || undefined, actor: actor.trim() || undefined }),
    [api, slug, pages.cursor, category, targetId, actor],
    AUDIT_POLL_MS,
  );
  const categoryId = useId();
  const targetIdId = useId();
  const actorId = useId();
  useEffect(() => {
    document.title = slug ? `Audit · ${slug} · fleetpki` : 'Platform audit · fleetpki';
  }, [slug]);
  const resetPage = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    pages.reset();
  };

  return (
    <section aria-labelledby="audit-title">
      <div className="page-header">
        <h1 id="audit-title">{slug ? 'Audit' : 'Platform audit'}</h1>
      </div>
      <p className="lead">
        {slug
          ? 'Every change to this project and every device authentication, accepted or refused, newest first.'
          : 'The whole platform’s log: every project’s events, deleted projects’ events, and refusals of certificates that name no project.'}
      </p>
      <form className="toolbar" role="search" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <div className="toolbar-field">
          <label htmlFor={categoryId}>Show</label>
          <select id={categoryId} value={category} onChange={(e) => resetPage(setCategory)(e.target.value as Category)}>
            {Object.entries(CATEGORIES).map(([value, { label }]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="toolbar-field">
          <label htmlFor={targetIdId}>Target ID</label>
          <input id={targetIdId} type="search" value={targetId} spellCheck={false} placeholder="device ID, CA ID, fingerprint…" onChange={(e) => resetPage(setTargetId)(e.target.value)} />
        </div>
        <div className="toolbar-field">
          <label htmlFor={actorId}>Actor</label>
          <input id={actorId} type="search" value={actor} spellCheck={false} placeholder="device:sensor-1, admin-key:fpk_…" onChange={(e) => resetPage(setActor)(e.target.value)} />
        </div>
      </form>
      <ErrorMessage error={events.error} />
      {events.loading && !events.data && <Loading what="the audit log" />}
      {events.data && events.data.total === 0 && <p className="empty">No events match.</p>}
      {events.data && events.data.list.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table table-audit" aria-labelledby="audit-title">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Event</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {events.data.list.map((event) => (
                  <AuditRow key={event.id} event={event} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} perPage={PER_PAGE} page={events.data} what="event" />
        </>
      )}
    </section>
  );
}

function AuditRow({ event }: { event: AuditEvent }) {
  const refused = event.action === 'device.authentication-failed';
  const code = typeof event.details['code'] === 'string' ? event.details['code'] : undefined;
  return (
    <tr className={refused ? 'row-refused' : undefined}>
      <td data-label="When" className="nowrap">
        <time dateTime={event.createdAt}>{formatDate(event.createdAt)}</time>
      </td>
      <td data-label="Event">
        <span className={`badge ${refused ? 'badge-red' : event.action === 'device.authenticate' ? 'badge-green' : 'badge-neutral'}`}>{ACTION_LABELS[event.action] ?? event.action}</span>
      </td>
      <td data-label="Actor">
        <code>{event.actor}</code>
      </td>
      <td data-label="Target">
        <span className="muted">{event.targetType}</span> <code className="break">{event.targetId}</code>
      </td>
      <td data-label="Details">
        {refused ? (
          <div>
            <strong>{code ?? 'refused'}</strong>: {explainRefusal(code)}
            <DetailList details={event.details} skip={['code', 'message']} />
          </div>
        ) : (
          <DetailList details={event.details} skip={[]} />
        )}
      </td>
    </tr>
  );
}

function DetailList({ details, skip }: { details: Readonly<Record<string, unknown>>; skip: readonly string[] }) {
  const entries = Object.entries(details).filter(([name, value]) => !skip.includes(name) && value !== null && value !== undefined && value !== '');
  if (entries.length === 0) return null;
  return (
    <dl className="details">
      {entries.map(([name, value]) => (
        <div key={name} className="details-item">
          <dt>{name}</dt>
          <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
        </div>
      ))}
    </dl>
  );
}
