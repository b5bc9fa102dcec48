import { useEffect, useState } from 'react';
import { ApiError, type AuditEvent, type CaCertificate } from '../api';
import { AUTHENTICATION_ACTIONS, explainRefusal, REFUSAL_ACTIONS } from '../messages';
import { Link, navigate, projectPath } from '../router';
import { useSession } from '../session';
import { ConfirmDialog, EnabledSwitch, ErrorMessage, ExpiryBadge, Fingerprint, formatDate, formatDay, Loading, RelativeTime, useResource } from '../ui';
import { DeviceCertificates } from './device-certificates';
import { DEVICE_POLL_MS, ProvisioningBadge } from './devices-page';

const AUTH_ACTIONS = [...AUTHENTICATION_ACTIONS, ...REFUSAL_ACTIONS].join(',');

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function DevicePage({ slug, deviceId }: { slug: string; deviceId: string }) {
  const { api } = useSession();
  const device = useResource(() => api.getDevice(slug, deviceId), [api, slug, deviceId], DEVICE_POLL_MS);
  const events = useResource(() => api.listAudit(slug, { targetId: deviceId, action: AUTH_ACTIONS, perPage: 20 }), [api, slug, deviceId], DEVICE_POLL_MS);
  // The certificate it last authenticated with: the fingerprint and the CA its chain rests on.
  const lastSuccess = events.data?.list.find((e) => e.action === 'device.authenticate');
  const caId = text(lastSuccess?.details['caCertificateId']);
  const ca = useResource<CaCertificate | null>(
    () =>
      caId === undefined
        ? Promise.resolve(null)
        : api.getCertificate(slug, caId).catch((e: unknown) => {
            if (e instanceof ApiError && e.problem.code === 'CA_NOT_FOUND') return null;
            throw e;
          }),
    [api, slug, caId],
  );
  const certificates = useResource(() => api.listDeviceCertificates(slug, deviceId), [api, slug, deviceId], DEVICE_POLL_MS);
  const [revokingAll, setRevokingAll] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const d = device.data;
  useEffect(() => {
    document.title = `${d?.name ?? 'Device'} · ${slug} · fleetpki`;
  }, [slug, d?.name]);

  return (
    <section aria-labelledby="device-title">
      <p className="breadcrumb">
        <Link to={projectPath(slug, 'devices')}>Devices</Link> /
      </p>
      <div className="page-header">
        <h1 id="device-title">{d?.name ?? 'Device'}</h1>
        {d && (
          <div className="header-actions">
            <EnabledSwitch
              enabled={d.enabled}
              label={`Enabled: ${d.name}`}
              onChange={async (enabled) => {
                setActionError(undefined);
                try {
                  await api.setDeviceEnabled(slug, d.id, enabled);
                } catch (e) {
                  setActionError(e);
                }
                await device.reload();
              }}
            />
            {(certificates.data?.list ?? []).some((c) => c.status === 'active') && (
              <button type="button" className="button button-danger-quiet" onClick={() => setRevokingAll(true)}>
                Revoke certificates
              </button>
            )}
            <button type="button" className="button button-danger-quiet" onClick={() => setDeleting(true)}>
              Delete device
            </button>
          </div>
        )}
      </div>
      <ErrorMessage error={actionError ?? device.error} />
      {device.loading && !d && <Loading what="the device" />}
      {d && (
        <div className="grid-2">
          <div className="card">
            <h2>Device</h2>
            <dl className="facts">
              <dt>Name</dt>
              <dd>{d.name}</dd>
              <dt>Device ID</dt>
              <dd>
                <code>{d.id}</code>
              </dd>
              <dt>Certificate ID</dt>
              <dd>{d.certificateId ? <code>{d.certificateId}</code> : <span className="muted">not set: the first certificate whose CN is “{d.name}” sets it</span>}</dd>
              <dt>Provisioning</dt>
              <dd>
                <ProvisioningBadge provisioning={d.provisioning} />
              </dd>
              <dt>Status</dt>
              <dd>{d.enabled ? 'Enabled' : 'Disabled: its connections are refused'}</dd>
              <dt>Created</dt>
              <dd>{formatDate(d.createdAt)}</dd>
              <dt>Last seen</dt>
              <dd>
                <RelativeTime iso={d.lastSeenAt} />
              </dd>
            </dl>
          </div>
          <div className="card">
            <h2>Certificate</h2>
            {!lastSuccess && <p className="muted">The device has not authenticated with a certificate yet.</p>}
            {lastSuccess && (
              <dl className="facts">
                <dt>Subject</dt>
                <dd>
                  <code>{text(lastSuccess.details['subject']) ?? `O=${slug}, CN=${d.certificateId ?? ''}`}</code>
                </dd>
                <dt>SHA-256 fingerprint</dt>
                <dd>{text(lastSuccess.details['fingerprintSha256']) ? <Fingerprint hex={text(lastSuccess.details['fingerprintSha256']) as string} /> : '—'}</dd>
                <dt>Issued under</dt>
                <dd>
                  {ca.data ? (
                    <>
                      <Link to={projectPath(slug, 'credentials', 'certificates')}>{ca.data.certificateContent.subject}</Link> ({ca.data.certType === 'root' ? 'root' : 'intermediate'}
                      {ca.data.enabled ? '' : ', disabled'})
                    </>
                  ) : caId ? (
                    <span className="muted">a CA certificate since deleted</span>
                  ) : (
                    '—'
                  )}
                </dd>
                {ca.data && (
                  <>
                    <dt>CA not after</dt>
                    <dd>
                      {formatDay(ca.data.certificateContent.notAfter)} <ExpiryBadge notAfter={ca.data.certificateContent.notAfter} />
                    </dd>
                  </>
                )}
                <dt>Last transport</dt>
                <dd>{text(lastSuccess.details['transport'])?.toUpperCase() ?? '—'}</dd>
                <dt>Last address</dt>
                <dd>{text(lastSuccess.details['remoteAddress']) ?? '—'}</dd>
              </dl>
            )}
          </div>
        </div>
      )}
      <h2 id="device-certificates-title">Certificates</h2>
      <ErrorMessage error={certificates.error} />
      {certificates.data && d && (
        <DeviceCertificates
          slug={slug}
          deviceName={d.name}
          certificates={certificates.data.list}
          onChanged={certificates.reload}
          revokeAll={revokingAll}
          onRevokeAllClosed={() => setRevokingAll(false)}
        />
      )}
      <h2 id="auth-events-title">Recent authentication events</h2>
      <ErrorMessage error={events.error} />
      {events.data && events.data.list.length === 0 && <p className="muted">No authentication yet.</p>}
      {events.data && events.data.list.length > 0 && <AuthEventsTable events={events.data.list} />}
      <ConfirmDialog
        open={deleting}
        title="Delete device"
        message={
          <p>
            Delete <strong>{d?.name}</strong>? Its open connections end now. If its certificate is still valid, its next connection creates it again: disable it to keep it
            out.
          </p>
        }
        confirmLabel="Delete device"
        onClose={() => setDeleting(false)}
        onConfirm={async () => {
          await api.deleteDevice(slug, deviceId);
          navigate(projectPath(slug, 'devices'));
        }}
      />
    </section>
  );
}

function AuthEventsTable({ events }: { events: readonly AuditEvent[] }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-labelledby="auth-events-title">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Outcome</th>
            <th scope="col">Transport</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => {
            const ok = event.action === 'device.authenticate';
            const code = text(event.details['code']);
            return (
              <tr key={event.id}>
                <td data-label="When">
                  <RelativeTime iso={event.createdAt} />
                </td>
                <td data-label="Outcome">
                  {ok ? (
                    <span className="badge badge-green">Accepted{text(event.details['provisioning']) ? ` (${text(event.details['provisioning'])})` : ''}</span>
                  ) : (
                    <>
                      <span className="badge badge-red">Refused: {code ?? 'unknown'}</span> <span>{explainRefusal(code)}</span>
                    </>
                  )}
                </td>
                <td data-label="Transport">{text(event.details['transport'])?.toUpperCase() ?? '—'}</td>
                <td data-label="Address">{text(event.details['remoteAddress']) ?? '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
