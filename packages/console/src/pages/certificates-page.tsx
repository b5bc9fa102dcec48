import { useEffect, useId, useState } from 'react';
import { toBase64, type BundleUploadResult, type CaCertificate, type CaCertificateCreated, type CertType, type ListedCaCertificate, type UploadWarning } from '../api';
import { describeError, describeProblem } from '../messages';
import { useSession } from '../session';
import { ConfirmDialog, Dialog, ErrorMessage, ExpiryBadge, EnabledSwitch, FileField, Fingerprint, formatDay, FormActions, FormError, Loading, Pager, usePages, useResource } from '../ui';
import { BlastRadiusNote, crlCutsSentence } from './blast-radius';
import { CrlUploadDialog } from './crl-upload-dialog';

const PER_PAGE = 50;
/** Matches the server's body limit; a bigger file is refused before it is read. */
const MAX_FILE_BYTES = 700 * 1024;
const ACCEPT = '.pem,.crt,.der,.cer,application/x-pem-file,application/x-x509-ca-cert,application/pkix-cert';

export function CertificatesPage({ slug }: { slug: string }) {
  const { api } = useSession();
  const pages = usePages();
  const certificates = useResource(() => api.listCertificates(slug, pages.cursor, PER_PAGE), [api, slug, pages.cursor]);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<CaCertificate | undefined>(undefined);
  const [disabling, setDisabling] = useState<CaCertificate | undefined>(undefined);
  const [uploadingCrl, setUploadingCrl] = useState<ListedCaCertificate | undefined>(undefined);
  const [notice, setNotice] = useState<{ kind: 'ok' | 'warning'; lines: string[] } | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  useEffect(() => {
    document.title = `Certificates · ${slug} · fleetpki`;
  }, [slug]);

  return (
    <section aria-labelledby="certificates-title">
      <p className="breadcrumb">Credentials</p>
      <div className="page-header">
        <h1 id="certificates-title">Certificates</h1>
        <button type="button" className="button button-primary" onClick={() => setAdding(true)}>
          Add CA Certificate
        </button>
      </div>
      <p className="lead">
        The CA certificates this project trusts. A device connects when its certificate chains to one of them that is enabled, with <code>O={slug}</code> and its
        certificate ID as CN.
      </p>
      {notice && (
        <div className={`alert ${notice.kind === 'ok' ? 'alert-ok' : 'alert-warning'}`} role="status">
          {notice.lines.map((line) => (
            <p key={line}>{line}</p>
          ))}
          <button type="button" className="icon-button alert-close" aria-label="Dismiss" onClick={() => setNotice(undefined)}>
            ×
          </button>
        </div>
      )}
      <ErrorMessage error={actionError ?? certificates.error} />
      {certificates.loading && !certificates.data && <Loading what="CA certificates" />}
      {certificates.data && certificates.data.total === 0 && (
        <div className="empty">
          <p>No CA certificates yet. Add the root (or intermediate) CA that signs your devices’ certificates.</p>
        </div>
      )}
      {certificates.data && certificates.data.list.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table" aria-describedby="certificates-title">
              <thead>
                <tr>
                  <th scope="col">Subject</th>
                  <th scope="col">Issuer</th>
                  <th scope="col">Type</th>
                  <th scope="col">Not after</th>
                  <th scope="col">SHA-256 fingerprint</th>
                  <th scope="col">CRL</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {certificates.data.list.map((ca) => (
                  <tr key={ca.id}>
                    <td data-label="Subject" className="cell-strong">
                      {ca.certificateContent.subject}
                    </td>
                    <td data-label="Issuer">{ca.certificateContent.issuer}</td>
                    <td data-label="Type">
                      <span className="badge badge-neutral">{ca.certType === 'root' ? 'Root' : 'Intermediate'}</span>
                    </td>
                    <td data-label="Not after">
                      <span className="nowrap">{formatDay(ca.certificateContent.notAfter)}</span> <ExpiryBadge notAfter={ca.certificateContent.notAfter} />
                    </td>
                    <td data-label="SHA-256">
                      <Fingerprint hex={ca.certificateContent.fingerprintSha256} />
                    </td>
                    <td data-label="CRL">
                      <CrlState ca={ca} />
                    </td>
                    <td data-label="Enabled">
                      <EnabledSwitch
                        enabled={ca.enabled}
                        label={`Enabled: ${ca.certificateContent.subject}`}
                        onChange={async (enabled) => {
                          setActionError(undefined);
                          try {
                            // Disabling a CA that more than one device rests on asks first, with who.
                            if (!enabled && (await api.caBlastRadius(slug, ca.id)).deviceCount > 1) {
                              setDisabling(ca);
                              return;
                            }
                            await api.setCertificateEnabled(slug, ca.id, enabled);
                          } catch (e) {
                            setActionError(e);
                          }
                          await certificates.reload();
                        }}
                      />
                    </td>
                    <td className="actions">
                      <button type="button" className="button button-small" aria-label={`Upload CRL for ${ca.certificateContent.subject}`} onClick={() => setUploadingCrl(ca)}>
                        Upload CRL
                      </button>{' '}
                      <button type="button" className="button button-small button-danger-quiet" aria-label={`Delete ${ca.certificateContent.subject}`} onClick={() => setDeleting(ca)}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} perPage={PER_PAGE} page={certificates.data} what="CA certificate" />
        </>
      )}
      <AddCertificateDialog
        slug={slug}
        open={adding}
        onClose={() => setAdding(false)}
        onAdded={async (lines, warn) => {
          setAdding(false);
          setNotice({ kind: warn ? 'warning' : 'ok', lines });
          await certificates.reload();
        }}
      />
      <CrlUploadDialog
        slug={slug}
        ca={uploadingCrl}
        onClose={() => setUploadingCrl(undefined)}
        onUploaded={async (result) => {
          const subject = uploadingCrl?.certificateContent.subject ?? result.caId;
          setUploadingCrl(undefined);
          setNotice({ kind: 'ok', lines: [`CRL ${result.crlNumber} is in force for ${subject}, with ${result.entryCount} revoked serial${result.entryCount === 1 ? '' : 's'}.`, crlCutsSentence(result)] });
          await certificates.reload();
        }}
      />
      <ConfirmDialog
        open={deleting !== undefined}
        title="Delete CA certificate"
        message={
          <>
            <p>
              Delete <strong>{deleting?.certificateContent.subject}</strong>? Devices whose certificates chain only to it will be refused and their open connections
              ended. To stop trusting it for a while, disable it instead.
            </p>
            {deleting && <BlastRadiusNote slug={slug} caId={deleting.id} />}
          </>
        }
        confirmLabel="Delete certificate"
        onClose={() => setDeleting(undefined)}
        onConfirm={async () => {
          if (!deleting) return;
          await api.deleteCertificate(slug, deleting.id);
          await certificates.reload();
        }}
      />
      <ConfirmDialog
        open={disabling !== undefined}
        title="Disable CA certificate"
        message={
          <>
            <p>
              Disable <strong>{disabling?.certificateContent.subject}</strong>? Devices whose certificates chain to it are refused and their open connections end within a
              second, until it is enabled again.
            </p>
            {disabling && <BlastRadiusNote slug={slug} caId={disabling.id} />}
          </>
        }
        confirmLabel="Disable certificate"
        onClose={() => setDisabling(undefined)}
        onConfirm={async () => {
          if (!disabling) return;
          await api.setCertificateEnabled(slug, disabling.id, false);
          await certificates.reload();
        }}
      />
    </section>
  );
}

/** The CRL in force for a CA certificate: its number and size, and a badge when it is past its nextUpdate. */
function CrlState({ ca }: { ca: ListedCaCertificate }) {
  if (!ca.crl) return <span className="muted">{ca.crlUrl ? 'not fetched yet' : 'none'}</span>;
  return (
    <>
      <span className="nowrap">
        No. {ca.crl.crlNumber} · {ca.crl.entryCount} revoked
      </span>{' '}
      {ca.crl.stale ? (
        <span className="badge badge-amber" title={`Past its next update (${ca.crl.nextUpdate ? formatDay(ca.crl.nextUpdate) : 'none given'}): its entries still apply; a newer CRL is due`}>
          stale
        </span>
      ) : (
        ca.crl.nextUpdate && <span className="muted nowrap">next by {formatDay(ca.crl.nextUpdate)}</span>
      )}
    </>
  );
}

function warningLines(warnings: readonly UploadWarning[] | undefined): string[] {
  return (warnings ?? []).map((w) =>
    w.code === 'CA_EXPIRES_SOON' && w.daysLeft !== undefined
      ? `It expires in ${w.daysLeft} day${w.daysLeft === 1 ? '' : 's'}: devices under it stop connecting then. Plan its replacement.`
      : w.message,
  );
}

function isBundle(result: CaCertificateCreated | BundleUploadResult): result is BundleUploadResult {
  return 'results' in result;
}

function AddCertificateDialog({ slug, open, onClose, onAdded }: { slug: string; open: boolean; onClose: () => void; onAdded: (lines: string[], warn: boolean) => Promise<void> }) {
  const { api } = useSession();
  const [certType, setCertType] = useState<CertType>('root');
  const [file, setFile] = useState<File | undefined>(undefined);
  const [error, setError] = useState<string[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const typeHelpId = useId();

  useEffect(() => {
    if (open) {
      setCertType('root');
      setFile(undefined);
      setError(undefined);
      setBusy(false);
    }
  }, [open]);

  return (
    <Dialog title="Add CA Certificate" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!file || busy) return;
          if (file.size > MAX_FILE_BYTES) {
            setError(['The file is too large (the limit is 700 KiB). A CA certificate is usually a few kilobytes.']);
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            const bytes = new Uint8Array(await file.arrayBuffer());
            const result = await api.uploadCertificate(slug, toBase64(bytes), certType);
            if (isBundle(result)) {
              const lines = result.results.map((r) =>
                r.certificate ? `Certificate ${r.index + 1}: added ${r.certificate.certificateContent.subject}.` : `Certificate ${r.index + 1}: ${r.problem ? describeProblem(r.problem) : 'refused'}`,
              );
              const warnings = result.results.flatMap((r) => warningLines(r.warnings));
              await onAdded([`${result.created} of ${result.results.length} certificates added.`, ...lines, ...warnings], result.refused > 0 || warnings.length > 0);
            } else {
              const warnings = warningLines(result.warnings);
              await onAdded([`Added ${result.certificateContent.subject} as a ${result.certType === 'root' ? 'root' : 'intermediate'} CA.`, ...warnings], warnings.length > 0);
            }
          } catch (e) {
            setError([describeError(e)]);
            setBusy(false);
          }
        }}
      >
        <fieldset className="field">
          <legend>Type</legend>
          <div className="radio-row" role="radiogroup" aria-describedby={typeHelpId}>
            <label className="radio">
              <input type="radio" name="certType" value="root" checked={certType === 'root'} onChange={() => setCertType('root')} />
              Root
            </label>
            <label className="radio">
              <input type="radio" name="certType" value="intermediate" checked={certType === 'intermediate'} onChange={() => setCertType('intermediate')} />
              Intermediate
            </label>
          </div>
          <p id={typeHelpId} className="hint">
            A root is self-signed. An intermediate was issued by another CA; either one lets the devices it signed connect.
          </p>
        </fieldset>
        <FileField
          label="Certificate file"
          accept={ACCEPT}
          hint={
            <>
              PEM or DER: <code>.pem</code>, <code>.crt</code>, <code>.der</code> or <code>.cer</code>. Only the certificate — never the private key.
            </>
          }
          onChange={(chosen) => {
            setFile(chosen);
            setError(undefined);
          }}
        />
        <FormError lines={error} />
        <FormActions onCancel={onClose} label="Upload" busyLabel="Uploading…" busy={busy} disabled={!file || busy} />
      </form>
    </Dialog>
  );
}
