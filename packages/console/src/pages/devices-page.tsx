import { useEffect, useId, useState } from 'react';
import type { Device, Provisioning } from '../api';
import { Link, navigate, projectPath } from '../router';
import { useSession } from '../session';
import { ConfirmDialog, Dialog, EnabledSwitch, ErrorMessage, FormActions, Loading, Pager, RelativeTime, usePages, useResource } from '../ui';

const PER_PAGE = 50;
/** New devices that connect appear without a reload. */
export const DEVICE_POLL_MS = 2000;

export const PROVISIONING_LABELS: Readonly<Record<Provisioning, { label: string; help: string }>> = {
  created: { label: 'Created', help: 'made on its first connection (zero-touch provisioning)' },
  associated: { label: 'Associated', help: 'pre-provisioned by name, then matched to its certificate on its first connection' },
  'pre-provisioned': { label: 'Pre-provisioned', help: 'created here by name; it has not connected yet' },
  existing: { label: 'Existing', help: 'known before this connection' },
};

export function ProvisioningBadge({ provisioning }: { provisioning: Provisioning }) {
  const entry = PROVISIONING_LABELS[provisioning];
  return (
    <span className={`badge badge-prov-${provisioning}`} title={entry.help}>
      {entry.label}
    </span>
  );
}

export function DevicesPage({ slug }: { slug: string }) {
  const { api } = useSession();
  const pages = usePages();
  const [nameFilter, setNameFilter] = useState('');
  // A name search is a prefix range on the server (an index range at any fleet size), paged by cursor.
  const devices = useResource(
    () => api.listDevices(slug, { cursor: pages.cursor, perPage: PER_PAGE, namePrefix: nameFilter.trim() || undefined }),
    [api, slug, pages.cursor, nameFilter],
    DEVICE_POLL_MS,
  );
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Device | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const filterId = useId();
  useEffect(() => {
    document.title = `Devices · ${slug} · fleetpki`;
  }, [slug]);

  return (
    <section aria-labelledby="devices-title">
      <div className="page-header">
        <h1 id="devices-title">Devices</h1>
        <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
          Add device
        </button>
      </div>
      <p className="lead">
        Devices appear here on their first connection with a certificate from one of the project’s CAs, or ahead of time when you add one by name (its certificate’s CN
        then associates it). This list refreshes by itself.
      </p>
      <div className="toolbar">
        <label htmlFor={filterId}>Name</label>
        <input
          id={filterId}
          type="search"
          placeholder="names starting with…"
          value={nameFilter}
          onChange={(e) => {
            setNameFilter(e.target.value);
            pages.reset();
          }}
        />
      </div>
      <ErrorMessage error={actionError ?? devices.error} />
      {devices.loading && !devices.data && <Loading what="devices" />}
      {devices.data && devices.data.list.length === 0 && pages.index === 0 && (
        <div className="empty">
          <p>{nameFilter ? 'No device name starts with this.' : 'No devices yet. Connect a device with a certificate signed by one of this project’s CAs, or add one by name.'}</p>
        </div>
      )}
      {devices.data && devices.data.list.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table" aria-describedby="devices-title">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Certificate ID</th>
                  <th scope="col">Provisioning</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Last seen</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {devices.data.list.map((device) => (
                  <tr key={device.id} data-device={device.name}>
                    <td data-label="Name" className="cell-strong">
                      <Link to={projectPath(slug, 'devices', device.id)}>{device.name}</Link>
                    </td>
                    <td data-label="Certificate ID">{device.certificateId ? <code>{device.certificateId}</code> : <span className="muted">not set yet</span>}</td>
                    <td data-label="Provisioning">
                      <ProvisioningBadge provisioning={device.provisioning} />
                    </td>
                    <td data-label="Enabled">
                      <EnabledSwitch
                        enabled={device.enabled}
                        label={`Enabled: ${device.name}`}
                        onChange={async (enabled) => {
                          setActionError(undefined);
                          try {
                            await api.setDeviceEnabled(slug, device.id, enabled);
                          } catch (e) {
                            setActionError(e);
                          }
                          await devices.reload();
                        }}
                      />
                    </td>
                    <td data-label="Last seen">
                      <RelativeTime iso={device.lastSeenAt} />
                    </td>
                    <td className="actions">
                      <button type="button" className="button button-small button-danger-quiet" aria-label={`Delete device ${device.name}`} onClick={() => setDeleting(device)}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} perPage={PER_PAGE} page={devices.data} what="device" />
        </>
      )}
      <CreateDeviceDialog
        slug={slug}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={async (device) => {
          setCreating(false);
          await devices.reload();
          navigate(projectPath(slug, 'devices', device.id));
        }}
      />
      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete device"
        message={
          <p>
            Delete <strong>{deleting?.name}</strong>? Its open connections end now. If its certificate is still valid, its next connection creates it again: disable it
            to keep it out.
          </p>
        }
        confirmLabel="Delete device"
        onClose={() => setDeleting(undefined)}
        onConfirm={async () => {
          if (!deleting) return;
          await api.deleteDevice(slug, deleting.id);
          await devices.reload();
        }}
      />
    </section>
  );
}

function CreateDeviceDialog({ slug, open, onClose, onCreated }: { slug: string; open: boolean; onClose: () => void; onCreated: (device: Device) => Promise<void> }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const helpId = useId();
  useEffect(() => {
    if (open) {
      setName('');
      setError(undefined);
      setBusy(false);
    }
  }, [open]);
  return (
    <Dialog title="Add device" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!name.trim() || busy) return;
          setBusy(true);
          setError(undefined);
          try {
            await onCreated(await api.createDevice(slug, name.trim()));
          } catch (e) {
            setError(e);
            setBusy(false);
          }
        }}
      >
        <div className="field">
          <label htmlFor={nameId}>Device name</label>
          <input id={nameId} value={name} maxLength={200} autoFocus autoComplete="off" spellCheck={false} aria-describedby={helpId} onChange={(e) => setName(e.target.value)} />
          <p id={helpId} className="hint">
            Pre-provisioning: when a device first connects with a certificate whose CN is this name, it takes this device’s place.
          </p>
        </div>
        <ErrorMessage error={error} />
        <FormActions onCancel={onClose} label="Add device" busyLabel="Adding…" busy={busy} disabled={!name.trim() || busy} />
      </form>
    </Dialog>
  );
}
