import { useEffect, useId, useState } from 'react';
import { toBase64, type ManagedCa, type ManagedCaMode } from '../api';
import { describeError } from '../messages';
import { useSession } from '../session';
import { CopyButton, Dialog, ErrorMessage, ExpiryBadge, Fingerprint, formatDate, formatDay, FileField, FormActions, FormError, Loading, useResource } from '../ui';

/** Matches the server's body limit for a certificate file. */
const MAX_FILE_BYTES = 700 * 1024;
const ACCEPT = '.pem,.crt,.der,.cer,application/x-pem-file,application/x-x509-ca-cert,application/pkix-cert';
/** The server's defaults for a new CA's profile (docs/pki/managed-cas.md). */
const DEFAULT_DAYS = 365;
const DEFAULT_MAX_DAYS = 825;

const MODE_NAMES: Readonly<Record<ManagedCaMode, string>> = {
  generate: 'Root and issuing CA made here',
  csr: 'Issuing CA signed by your own root',
  cfssl: 'Remote cfssl signer',
};
const STORAGE_NAMES: Readonly<Record<ManagedCa['keyStorage'], string>> = {
  sealed: 'Sealed under the master key',
  pkcs11: 'PKCS#11 token',
  remote: 'Held by the remote signer',
};

const days = (n: number): string => (n === 1 ? '1 day' : `${n} days`);

/**
 * Credentials → Issuing CA: the project's integrated PKI. The newest active CA issues (API,
 * device rotation, EST) and is a trust anchor of the project; a csr-mode CA waits here, with
 * its CSR to sign offline, until its certificate is uploaded.
 */
export function PkiPage({ slug }: { slug: string }) {
  const { api, kind } = useSession();
  const cas = useResource(() => api.listManagedCas(slug), [api, slug]);
  const [creating, setCreating] = useState(false);
  const [completing, setCompleting] = useState<ManagedCa | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  useEffect(() => {
    document.title = `Issuing CA · ${slug} · fleetpki`;
  }, [slug]);
  const list = cas.data?.list ?? [];
  // The server issues with the CA activated last (ties by id), as this picks it.
  const issuing = list
    .filter((ca) => ca.status === 'active')
    .sort((a, b) => (b.activatedAt ?? '').localeCompare(a.activatedAt ?? '') || b.id.localeCompare(a.id))[0];

  return (
    <section aria-labelledby="pki-title">
      <p className="breadcrumb">Credentials</p>
      <div className="page-header">
        <h1 id="pki-title">Issuing CA</h1>
        <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
          Create issuing CA
        </button>
      </div>
      <p className="lead">
        With an issuing CA the server signs device certificates itself: a factory line through <code>POST /v1/projects/{slug}/pki/issue</code>, devices rotating
        their key with <code>POST /v1/csr</code>, and EST enrollment. Its key never leaves the server, and it is trusted by the project like an uploaded CA.
      </p>
      {notice && (
        <div className="alert alert-ok" role="status">
          <p>{notice}</p>
          <button type="button" className="icon-button alert-close" aria-label="Dismiss" onClick={() => setNotice(undefined)}>
            ×
          </button>
        </div>
      )}
      <ErrorMessage error={cas.error} />
      {cas.loading && !cas.data && <Loading what="issuing CAs" />}
      {cas.data && list.length === 0 && (
        <div className="empty">
          <p>This project has no issuing CA: it trusts the CA certificates you upload, and the server issues no certificates for it.</p>
        </div>
      )}
      {list.map((ca) => (
        <article key={ca.id} className="card" aria-label={`${MODE_NAMES[ca.mode]}: ${ca.certificateContent?.subject ?? 'waiting for its certificate'}`}>
          <div className="card-header">
            <h2>{ca.certificateContent?.subject ?? 'Waiting for its certificate'}</h2>
            {ca.status === 'pending' ? (
              <span className="badge badge-amber">Pending</span>
            ) : ca === issuing ? (
              <span className="badge badge-green">Issuing</span>
            ) : (
              <span className="badge badge-neutral">Active, superseded</span>
            )}
          </div>
          <dl className="facts">
            <dt>Kind</dt>
            <dd>{MODE_NAMES[ca.mode]}</dd>
            <dt>Key</dt>
            <dd>{STORAGE_NAMES[ca.keyStorage]}</dd>
            {ca.certificateContent && (
              <>
                <dt>Issuer</dt>
                <dd>{ca.certificateContent.issuer}</dd>
                <dt>Not after</dt>
                <dd>
                  <span className="nowrap">{formatDay(ca.certificateContent.notAfter)}</span> <ExpiryBadge notAfter={ca.certificateContent.notAfter} />
                </dd>
                <dt>SHA-256</dt>
                <dd>
                  <Fingerprint hex={ca.certificateContent.fingerprintSha256} />
                </dd>
              </>
            )}
            <dt>Device certificates</dt>
            <dd>
              {days(ca.profile.defaultDays)} by default, at most {days(ca.profile.maxDays)}; keys {ca.profile.keyTypes.join(', ')}
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(ca.createdAt)}</dd>
          </dl>
          {ca.status === 'pending' && ca.csr && (
            <>
              <h3>Sign this CSR with your root</h3>
              <p className="hint">
                The root never comes to the server. Sign it offline, for example with{' '}
                <code>fleetpki cert sign --ca --csr issuing.csr.pem --ca-cert root.crt.pem --ca-key root.key.pem --days 1825 --out issuing.crt.pem</code>, then upload the
                certificate.
              </p>
              <div className="button-row">
                <a className="button" href={`data:application/pkcs10;base64,${btoa(ca.csr)}`} download={`${slug}-issuing-ca.csr.pem`}>
                  Download CSR
                </a>
                <CopyButton text={ca.csr} label="Copy the CSR" />
                <button type="button" className="button button-primary" onClick={() => setCompleting(ca)}>
                  Upload signed certificate
                </button>
              </div>
              <pre className="pem" aria-label="Issuing CA CSR, PEM" tabIndex={0}>
                {ca.csr}
              </pre>
            </>
          )}
          {ca.certificate && (
            <div className="button-row">
              <a className="button" href={`data:application/x-pem-file;base64,${btoa(ca.certificate + (ca.chain ?? ''))}`} download={`${slug}-issuing-ca-chain.pem`}>
                Download certificate chain
              </a>
              <CopyButton text={ca.certificate} label="Copy the issuing CA certificate" />
            </div>
          )}
        </article>
      ))}
      <CreateCaDialog
        slug={slug}
        admin={kind === 'admin'}
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={async (ca) => {
          setCreating(false);
          setNotice(
            ca.status === 'pending'
              ? 'The issuing key is made. Sign its CSR with your root and upload the certificate to start issuing.'
              : `${ca.certificateContent?.subject ?? 'The issuing CA'} issues this project’s device certificates from now on.`,
          );
          await cas.reload();
        }}
      />
      <CompleteCaDialog
        slug={slug}
        ca={completing}
        onClose={() => setCompleting(undefined)}
        onCompleted={async (ca) => {
          setCompleting(undefined);
          setNotice(`${ca.certificateContent?.subject ?? 'The issuing CA'} is active and issues this project’s device certificates.`);
          await cas.reload();
        }}
      />
    </section>
  );
}

function CreateCaDialog({ slug, admin, open, onClose, onCreated }: { slug: string; admin: boolean; open: boolean; onClose: () => void; onCreated: (ca: ManagedCa) => Promise<void> }) {
  const { api } = useSession();
  const [mode, setMode] = useState<ManagedCaMode>('generate');
  const [defaultDays, setDefaultDays] = useState(String(DEFAULT_DAYS));
  const [maxDays, setMaxDays] = useState(String(DEFAULT_MAX_DAYS));
  const [cfsslUrl, setCfsslUrl] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const defaultId = useId();
  const maxId = useId();
  const urlId = useId();
  const modeHelpId = useId();

  useEffect(() => {
    if (open) {
      setMode('generate');
      setDefaultDays(String(DEFAULT_DAYS));
      setMaxDays(String(DEFAULT_MAX_DAYS));
      setCfsslUrl('');
      setError(undefined);
      setBusy(false);
    }
  }, [open]);

  return (
    <Dialog title="Create issuing CA" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (busy) return;
          const profile = { defaultDays: Number(defaultDays), maxDays: Number(maxDays) };
          if (!Number.isInteger(profile.defaultDays) || !Number.isInteger(profile.maxDays) || profile.defaultDays < 1 || profile.maxDays < 1) {
            setError('Validity is a whole number of days, at least 1.');
            return;
          }
          if (profile.defaultDays > profile.maxDays) {
            setError('The default validity cannot be longer than the maximum.');
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            await onCreated(await api.createManagedCa(slug, { mode, profile, ...(mode === 'cfssl' ? { cfssl: { url: cfsslUrl } } : {}) }));
          } catch (e) {
            setError(describeError(e));
            setBusy(false);
          }
        }}
      >
        <fieldset className="field">
          <legend>How the CA is made</legend>
          <div className="radio-column" role="radiogroup" aria-describedby={modeHelpId}>
            <label className="radio">
              <input type="radio" name="mode" value="generate" checked={mode === 'generate'} onChange={() => setMode('generate')} />
              {MODE_NAMES.generate}
            </label>
            <label className="radio">
              <input type="radio" name="mode" value="csr" checked={mode === 'csr'} onChange={() => setMode('csr')} />
              {MODE_NAMES.csr}
            </label>
            {admin && (
              <label className="radio">
                <input type="radio" name="mode" value="cfssl" checked={mode === 'cfssl'} onChange={() => setMode('cfssl')} />
                {MODE_NAMES.cfssl}
              </label>
            )}
          </div>
          <p id={modeHelpId} className="hint">
            {mode === 'generate' && 'The server makes a root and an issuing CA below it, keeps the issuing key and discards the root’s.'}
            {mode === 'csr' && 'The server makes only the issuing key and shows its CSR; you sign it with your own root, offline, and upload the certificate.'}
            {mode === 'cfssl' && 'A cfssl serve you run holds the key and signs; the server checks every certificate it returns.'}
          </p>
        </fieldset>
        {mode === 'cfssl' && (
          <div className="field">
            <label htmlFor={urlId}>cfssl URL</label>
            <input id={urlId} type="url" required placeholder="http://127.0.0.1:8888" value={cfsslUrl} onChange={(e) => setCfsslUrl(e.target.value)} />
          </div>
        )}
        <div className="field-row">
          <div className="field">
            <label htmlFor={defaultId}>Default validity (days)</label>
            <input id={defaultId} type="number" min={1} inputMode="numeric" value={defaultDays} onChange={(e) => setDefaultDays(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor={maxId}>Maximum validity (days)</label>
            <input id={maxId} type="number" min={1} inputMode="numeric" value={maxDays} onChange={(e) => setMaxDays(e.target.value)} />
          </div>
        </div>
        <FormError lines={error === undefined ? undefined : [error]} />
        <FormActions onCancel={onClose} label="Create" busyLabel="Creating…" busy={busy} disabled={busy} />
      </form>
    </Dialog>
  );
}

function CompleteCaDialog({ slug, ca, onClose, onCompleted }: { slug: string; ca: ManagedCa | undefined; onClose: () => void; onCompleted: (ca: ManagedCa) => Promise<void> }) {
  const { api } = useSession();
  const [file, setFile] = useState<File | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setFile(undefined);
    setError(undefined);
    setBusy(false);
  }, [ca]);

  return (
    <Dialog title="Upload signed certificate" open={ca !== undefined} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!ca || !file || busy) return;
          if (file.size > MAX_FILE_BYTES) {
            setError('The file is too large (the limit is 700 KiB).');
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            await onCompleted(await api.completeManagedCa(slug, ca.id, toBase64(new Uint8Array(await file.arrayBuffer()))));
          } catch (e) {
            setError(describeError(e));
            setBusy(false);
          }
        }}
      >
        <FileField
          label="Signed certificate file"
          accept={ACCEPT}
          hint="The issuing CA’s certificate in PEM or DER, optionally followed by the certificates above it. Never the root’s key."
          onChange={setFile}
        />
        <FormError lines={error === undefined ? undefined : [error]} />
        <FormActions onCancel={onClose} label="Upload" busyLabel="Uploading…" busy={busy} disabled={!file || busy} />
      </form>
    </Dialog>
  );
}
