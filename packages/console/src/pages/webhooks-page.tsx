import { useId, useState } from 'react';
import type { CreatedWebhook, Webhook, WebhookDelivery, WebhookEventType } from '../api';
import { useSession } from '../session';
import { ConfirmDialog, CopyButton, Dialog, ErrorMessage, formatDate, FormActions, Loading, RelativeTime, useResource } from '../ui';

/** The events an endpoint can subscribe to (the server's closed list, docs/webhooks.md), the usual ones first. */
const EVENT_CHOICES: readonly { type: WebhookEventType; help: string }[] = [
  { type: 'device.created', help: 'created through the API or by its first connection' },
  { type: 'device.associated', help: 'a device added by name got its certificate' },
  { type: 'device.authentication-failed', help: 'a refused connection, with its code' },
  { type: 'device.disabled', help: 'switched off' },
  { type: 'device.enabled', help: 'switched on again' },
  { type: 'device.updated', help: 'renamed or given a certificate ID' },
  { type: 'device.deleted', help: 'deleted' },
  { type: 'device.imported', help: 'a device import batch' },
  { type: 'device.credential-created', help: 'a PSK added (never the key)' },
  { type: 'certificate.issued', help: 'issued by the integrated PKI' },
  { type: 'certificate.revoked', help: 'revoked' },
  { type: 'certificate.superseded', help: 'replaced by a newer certificate of its device' },
  { type: 'certificate.expiring', help: 'crossed an expiry alert threshold' },
  { type: 'certificate.expired', help: 'past its notAfter' },
  { type: 'certificate.renewal-requested', help: 'devices asked to renew' },
  { type: 'ca.uploaded', help: 'a CA certificate uploaded' },
  { type: 'ca.enabled', help: 'a CA switched on' },
  { type: 'ca.disabled', help: 'a CA switched off' },
  { type: 'ca.deleted', help: 'a CA certificate deleted' },
  { type: 'ca.created', help: 'a managed CA created' },
  { type: 'ca.activated', help: 'a managed CA activated' },
  { type: 'ca.crl-stale', help: 'a fetched CRL is past its nextUpdate' },
];
const DEFAULT_EVENTS: readonly WebhookEventType[] = ['device.created', 'device.associated', 'device.authentication-failed', 'device.disabled', 'certificate.revoked'];
/** Deliveries change while one looks at them (retries, new events). */
const DELIVERY_POLL_MS = 2000;

/** Project Settings › Webhooks: the project's endpoints, a test send, and what each delivery got back. */
export function WebhooksSection({ slug }: { slug: string }) {
  const { api } = useSession();
  const hooks = useResource(() => api.listWebhooks(slug), [api, slug]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedWebhook | undefined>(undefined);
  const [deleting, setDeleting] = useState<Webhook | undefined>(undefined);
  const [viewing, setViewing] = useState<Webhook | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);

  return (
    <div className="card" aria-labelledby="webhooks-title" role="region">
      <div className="page-header">
        <h2 id="webhooks-title">Webhooks</h2>
        <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
          Add webhook
        </button>
      </div>
      <p className="hint">
        The project’s events, signed as <a href="https://www.standardwebhooks.com">Standard Webhooks</a> says and delivered at least once, in order per device, with retries
        for 24 hours. Verify them with the endpoint’s secret.
      </p>
      {notice && (
        <div className="alert alert-warning" role="status">
          {notice}
        </div>
      )}
      <ErrorMessage error={actionError ?? hooks.error} />
      {hooks.loading && !hooks.data && <Loading what="webhooks" />}
      {hooks.data && hooks.data.list.length === 0 && <p className="empty">No webhooks yet.</p>}
      {hooks.data && hooks.data.list.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-labelledby="webhooks-title">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {hooks.data.list.map((hook) => (
                <tr key={hook.id} data-webhook={hook.url}>
                  <td data-label="URL" className="cell-strong">
                    <code>{hook.url}</code>
                  </td>
                  <td data-label="Events">{hook.events.join(', ')}</td>
                  <td data-label="Added">{formatDate(hook.createdAt)}</td>
                  <td className="actions">
                    <button type="button" className="button button-small" aria-label={`Deliveries of ${hook.url}`} onClick={() => setViewing(hook)}>
                      Deliveries
                    </button>
                    <button
                      type="button"
                      className="button button-small"
                      aria-label={`Send a test event to ${hook.url}`}
                      onClick={async () => {
                        setActionError(undefined);
                        try {
                          const sent = await api.sendWebhookTest(slug, hook.id);
                          setNotice(`Test event ${sent.messageId} is on its way.`);
                        } catch (e) {
                          setActionError(e);
                        }
                      }}
                    >
                      Send test event
                    </button>
                    <button type="button" className="button button-small button-danger-quiet" aria-label={`Delete webhook ${hook.url}`} onClick={() => setDeleting(hook)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateWebhookDialog
        slug={slug}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={async (hook) => {
          setCreating(false);
          setCreated(hook);
          await hooks.reload();
        }}
      />
      <Dialog title="Webhook secret" open={created !== undefined} onClose={() => setCreated(undefined)}>
        <p>
          The signing secret of <code>{created?.url}</code>. <strong>It is shown only now</strong>: keep it where your backend reads it.
        </p>
        <div className="copy-row">
          <code data-testid="webhook-secret">{created?.secret}</code>
          {created && <CopyButton text={created.secret} label="Copy the webhook secret" />}
        </div>
        <div className="form-actions">
          <button type="button" className="button button-primary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      </Dialog>
      <Dialog title="Deliveries" open={viewing !== undefined} onClose={() => setViewing(undefined)}>
        {viewing && <Deliveries slug={slug} hook={viewing} />}
      </Dialog>
      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete webhook"
        message={
          <p>
            Delete the webhook to <code>{deleting?.url}</code>? Its pending deliveries are dropped.
          </p>
        }
        confirmLabel="Delete webhook"
        onClose={() => setDeleting(undefined)}
        onConfirm={async () => {
          if (!deleting) return;
          await api.deleteWebhook(slug, deleting.id);
          await hooks.reload();
        }}
      />
    </div>
  );
}

function CreateWebhookDialog({ slug, open, onClose, onCreated }: { slug: string; open: boolean; onClose: () => void; onCreated: (hook: CreatedWebhook) => Promise<void> }) {
  const { api } = useSession();
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<readonly WebhookEventType[]>(DEFAULT_EVENTS);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const urlId = useId();
  return (
    <Dialog title="Add webhook" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!url.trim() || busy) return;
          setBusy(true);
          setError(undefined);
          try {
            await onCreated(await api.createWebhook(slug, url.trim(), events));
            setUrl('');
            setEvents(DEFAULT_EVENTS);
          } catch (e) {
            setError(e);
          }
          setBusy(false);
        }}
      >
        <div className="field">
          <label htmlFor={urlId}>Endpoint URL</label>
          <input id={urlId} type="url" value={url} maxLength={2048} autoFocus autoComplete="off" spellCheck={false} placeholder="https://backend.example.com/fleetpki" onChange={(e) => setUrl(e.target.value)} />
        </div>
        <fieldset className="field">
          <legend>Events</legend>
          {EVENT_CHOICES.map((choice) => (
            <label key={choice.type} className="checkbox" title={choice.help}>
              <input
                type="checkbox"
                checked={events.includes(choice.type)}
                onChange={(e) => setEvents(e.target.checked ? [...events, choice.type] : events.filter((t) => t !== choice.type))}
              />{' '}
              <code>{choice.type}</code> <span className="muted">{choice.help}</span>
            </label>
          ))}
        </fieldset>
        <ErrorMessage error={error} />
        <FormActions onCancel={onClose} label="Add webhook" busyLabel="Adding…" busy={busy} disabled={!url.trim() || events.length === 0} />
      </form>
    </Dialog>
  );
}

function Deliveries({ slug, hook }: { slug: string; hook: Webhook }) {
  const { api } = useSession();
  const deliveries = useResource(() => api.listWebhookDeliveries(slug, hook.id), [api, slug, hook.id], DELIVERY_POLL_MS);
  return (
    <div>
      <p>
        To <code>{hook.url}</code>, newest first.
      </p>
      <ErrorMessage error={deliveries.error} />
      {deliveries.loading && !deliveries.data && <Loading what="deliveries" />}
      {deliveries.data && deliveries.data.list.length === 0 && <p className="empty">No deliveries yet.</p>}
      {deliveries.data && deliveries.data.list.length > 0 && (
        <ul className="deliveries" aria-label="Deliveries">
          {deliveries.data.list.map((d) => (
            <DeliveryItem key={d.id} delivery={d} />
          ))}
        </ul>
      )}
    </div>
  );
}

function DeliveryItem({ delivery }: { delivery: WebhookDelivery }) {
  return (
    <li data-delivery={delivery.type} data-status={delivery.status}>
      <strong>{delivery.type}</strong> <span className={`badge badge-delivery-${delivery.status}`}>{delivery.status}</span> <code className="muted">{delivery.messageId}</code>
      {delivery.status === 'pending' && delivery.nextAttemptAt && (
        <span className="muted">
          {' '}
          next attempt <RelativeTime iso={delivery.nextAttemptAt} />
        </span>
      )}
      <ol className="attempts" aria-label={`Attempts of ${delivery.messageId}`}>
        {delivery.attempts.map((a, i) => (
          <li key={i}>
            {formatDate(a.attemptedAt)} · {a.durationMs} ms · {a.statusCode !== null ? `HTTP ${a.statusCode}` : <code>{a.errorCode}</code>}
            {a.response && <span className="muted"> · {a.response.slice(0, 120)}</span>}
          </li>
        ))}
      </ol>
    </li>
  );
}
