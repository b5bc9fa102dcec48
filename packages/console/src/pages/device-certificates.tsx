import { useId, useState } from 'react';
import type { DeviceCertificate, RevocationReason } from '../api';
import { useSession } from '../session';
import { ConfirmDialog, ExpiryBadge, Fingerprint, formatDay } from '../ui';

/** The reasons a person picks from (RFC 5280 §5.3.1), in words. */
export const REVOCATION_REASON_LABELS: Readonly<Record<RevocationReason, string>> = {
  keyCompromise: 'Key compromise (the key leaked or the device was stolen)',
  superseded: 'Superseded (replaced by a newer certificate)',
  cessationOfOperation: 'Cessation of operation (the device is retired)',
  affiliationChanged: 'Affiliation changed',
  privilegeWithdrawn: 'Privilege withdrawn',
  caCompromise: 'CA compromise',
  unspecified: 'Unspecified',
};

function StatusBadge({ certificate }: { certificate: DeviceCertificate }) {
  if (certificate.status === 'revoked') return <span className="badge badge-red">Revoked ({certificate.revocationReason})</span>;
  if (certificate.status === 'superseded') return <span className="badge">Superseded</span>;
  return <span className="badge badge-green">Active</span>;
}

/**
 * The certificates a device has presented (the inventory, DESIGN §8), each with its status and
 * expiry, and a Revoke action — on one certificate, or on every active one from the page header
 * (`revokeAll`) — behind a reason picker and a confirmation.
 */
export function DeviceCertificates({
  slug,
  deviceName,
  certificates,
  onChanged,
  revokeAll,
  onRevokeAllClosed,
}: {
  slug: string;
  deviceName: string;
  certificates: readonly DeviceCertificate[];
  onChanged: () => Promise<void>;
  revokeAll: boolean;
  onRevokeAllClosed: () => void;
}) {
  const { api } = useSession();
  const [target, setTarget] = useState<readonly DeviceCertificate[] | undefined>(undefined);
  const [reason, setReason] = useState<RevocationReason>('keyCompromise');
  const reasonId = useId();
  const active = certificates.filter((c) => c.status === 'active');
  const revoking = revokeAll ? active : target;
  const close = (): void => {
    setTarget(undefined);
    onRevokeAllClosed();
  };
  return (
    <>
      {certificates.length === 0 ? (
        <p className="muted">No certificate seen yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-labelledby="device-certificates-title">
            <thead>
              <tr>
                <th scope="col">Fingerprint (SHA-256)</th>
                <th scope="col">Serial</th>
                <th scope="col">Not after</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {certificates.map((c) => (
                <tr key={c.fingerprintSha256}>
                  <td data-label="Fingerprint">
                    <Fingerprint hex={c.fingerprintSha256} />
                  </td>
                  <td data-label="Serial">
                    <code>{c.serialNumber}</code>
                  </td>
                  <td data-label="Not after">
                    {formatDay(c.notAfter)} <ExpiryBadge notAfter={c.notAfter} />
                  </td>
                  <td data-label="Status">
                    <StatusBadge certificate={c} />
                  </td>
                  <td data-label="Actions">
                    {c.status === 'active' && (
                      <button type="button" className="button button-danger-quiet" aria-label={`Revoke certificate ${c.serialNumber}`} onClick={() => setTarget([c])}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog
        open={revoking !== undefined && revoking.length > 0}
        title={revoking && revoking.length > 1 ? `Revoke ${revoking.length} certificates` : 'Revoke certificate'}
        message={
          <>
            <p>
              Revoke {revoking && revoking.length > 1 ? `every active certificate of` : 'this certificate of'} <strong>{deviceName}</strong>? It is refused at every gateway from now on
              and its open connections end within a second. A revocation cannot be undone.
            </p>
            <div className="field">
              <label htmlFor={reasonId}>Reason</label>
              <select id={reasonId} value={reason} onChange={(event) => setReason(event.target.value as RevocationReason)}>
                {(Object.keys(REVOCATION_REASON_LABELS) as RevocationReason[]).map((r) => (
                  <option key={r} value={r}>
                    {REVOCATION_REASON_LABELS[r]}
                  </option>
                ))}
              </select>
            </div>
          </>
        }
        confirmLabel="Revoke"
        onClose={close}
        onConfirm={async () => {
          await api.revokeCertificates(slug, (revoking ?? []).map((c) => c.fingerprintSha256), reason);
          await onChanged();
        }}
      />
    </>
  );
}
