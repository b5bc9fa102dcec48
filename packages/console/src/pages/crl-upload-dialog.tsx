import { useEffect, useState } from 'react';
import { toBase64, type CaCrlUploadResult, type ListedCaCertificate } from '../api';
import { describeError } from '../messages';
import { useSession } from '../session';
import { Dialog, FileField, FormActions, FormError } from '../ui';
import { crlCutsSentence } from './blast-radius';

/** Under the server's 16 MiB body limit once base64 (4/3) and JSON wrap it; a 100,000-entry CRL is about 3.5 MB. */
const MAX_FILE_BYTES = 11 * 1024 * 1024;
const ACCEPT = '.crl,.pem,.der,application/pkix-crl,application/x-pem-file';

/**
 * Puts a CRL in force for a CA certificate (DESIGN §8). The file is first checked with a dry run;
 * when it would cut more than one device, the operator sees who and confirms (issue 16, 4).
 */
export function CrlUploadDialog({ slug, ca, onClose, onUploaded }: { slug: string; ca: ListedCaCertificate | undefined; onClose: () => void; onUploaded: (result: CaCrlUploadResult) => Promise<void> }) {
  const { api } = useSession();
  const [file, setFile] = useState<File | undefined>(undefined);
  const [preview, setPreview] = useState<CaCrlUploadResult | undefined>(undefined);
  const [error, setError] = useState<string[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setFile(undefined);
    setPreview(undefined);
    setError(undefined);
    setBusy(false);
  }, [ca]);

  const needsConfirmation = preview !== undefined && preview.cuts.deviceCount > 1;
  const label = needsConfirmation ? `Put in force and cut ${preview.cuts.deviceCount} devices` : 'Upload';

  return (
    <Dialog title="Upload CRL" open={ca !== undefined} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!ca || !file || busy) return;
          if (file.size > MAX_FILE_BYTES) {
            setError(['The file is too large (the limit is 11 MiB).']);
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            const crlFile = toBase64(new Uint8Array(await file.arrayBuffer()));
            if (!needsConfirmation) {
              const checked = await api.uploadCaCrl(slug, ca.id, crlFile, true);
              if (checked.cuts.deviceCount > 1) {
                setPreview(checked);
                setBusy(false);
                return;
              }
            }
            await onUploaded(await api.uploadCaCrl(slug, ca.id, crlFile, false));
          } catch (e) {
            setPreview(undefined);
            setError([describeError(e)]);
            setBusy(false);
          }
        }}
      >
        <p>
          For <strong>{ca?.certificateContent.subject}</strong>. Its serials are refused at every gateway once it is in force; it must be this CA’s, complete and newer than
          the CRL in force{ca?.crl ? ` (number ${ca.crl.crlNumber})` : ''}.
        </p>
        <FileField
          label="CRL file"
          accept={ACCEPT}
          hint={
            <>
              PEM or DER, as <code>openssl ca -gencrl</code> writes it.
            </>
          }
          onChange={(chosen) => {
            setFile(chosen);
            setPreview(undefined);
            setError(undefined);
          }}
        />
        {needsConfirmation && (
          <p className="alert alert-warning" role="status">
            {crlCutsSentence(preview)}
          </p>
        )}
        <FormError lines={error} />
        <FormActions onCancel={onClose} label={label} busyLabel="Uploading…" busy={busy} disabled={!file || busy} />
      </form>
    </Dialog>
  );
}
