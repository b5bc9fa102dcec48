import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { describeError } from './messages';

/** Loads something from the API, again on `reload()` and, when asked, every `pollMs` (quietly). */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[], pollMs?: number) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const run = useCallback(async (quiet: boolean) => {
    const mine = ++generation.current;
    if (!quiet) setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(undefined);
    } catch (e) {
      if (mine !== generation.current) return;
      setError(e);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setData(undefined);
    void run(false);
    if (!pollMs) return undefined;
    // Polling: new devices and events appear without a reload; paused while the tab is hidden.
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void run(true);
    }, pollMs);
    return () => clearInterval(timer);
  }, [...deps, pollMs, run]);

  return { data, error, loading, reload: () => run(true) };
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="alert alert-error" role="alert">
      {describeError(error)}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/**
 * A modal dialog on the platform's <dialog>: focus moves in and is kept there, Escape closes it,
 * focus returns to what opened it.
 */
export function Dialog({ title, open, onClose, children, footer }: { title: string; open: boolean; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      className="dialog"
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      {open && (
        <>
          <header className="dialog-header">
            <h2 id={titleId}>{title}</h2>
            <button type="button" className="icon-button" aria-label="Close" onClick={onClose}>
              ×
            </button>
          </header>
          <div className="dialog-body">{children}</div>
          {footer && <footer className="dialog-footer">{footer}</footer>}
        </>
      )}
    </dialog>
  );
}

/** Asks before something that cannot be undone; `confirmText` must be typed when given. */
export function ConfirmDialog({
  open,
  title,
  message,
  confirmLabel,
  confirmText,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  confirmText?: string;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const inputId = useId();
  useEffect(() => {
    if (open) {
      setTyped('');
      setError(undefined);
      setBusy(false);
    }
  }, [open]);
  const ready = confirmText === undefined || typed === confirmText;
  return (
    <Dialog title={title} open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!ready || busy) return;
          setBusy(true);
          setError(undefined);
          try {
            await onConfirm();
            onClose();
          } catch (e) {
            setError(e);
            setBusy(false);
          }
        }}
      >
        <div className="confirm-message">{message}</div>
        {confirmText !== undefined && (
          <div className="field">
            <label htmlFor={inputId}>
              Type <strong>{confirmText}</strong> to confirm
            </label>
            <input id={inputId} value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" autoFocus spellCheck={false} />
          </div>
        )}
        <ErrorMessage error={error} />
        <div className="form-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-danger" disabled={!ready || busy} autoFocus={confirmText === undefined}>
            {busy ? 'Working…' : confirmLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** An on/off switch for `enabled`; it says what it switches to screen readers. */
export function EnabledSwitch({ enabled, label, onChange }: { enabled: boolean; label: string; onChange: (enabled: boolean) => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  return (
    <button
      type="button"
      role="switch"
      aria-checked={enabled}
      aria-label={label}
      className={`switch ${enabled ? 'switch-on' : 'switch-off'}`}
      disabled={busy}
      onClick={async () => {
        setBusy(true);
        try {
          await onChange(!enabled);
        } finally {
          setBusy(false);
        }
      }}
    >
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
      <span className="switch-text">{enabled ? 'Enabled' : 'Disabled'}</span>
    </button>
  );
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** The server warns about a CA expiring within this many days; the badge turns amber with it. */
export const EXPIRY_WARNING_DAYS = 30;

export function daysUntil(iso: string, now = Date.now()): number {
  return Math.floor((new Date(iso).getTime() - now) / DAY_MS);
}

/** "expires in N days": green, amber under 30 days, red once expired. */
export function ExpiryBadge({ notAfter }: { notAfter: string }) {
  const expired = new Date(notAfter).getTime() <= Date.now();
  const days = daysUntil(notAfter);
  if (expired) {
    const ago = Math.max(0, -days - 1);
    return <span className="badge badge-red">{ago === 0 ? 'expired' : `expired ${ago} day${ago === 1 ? '' : 's'} ago`}</span>;
  }
  const text = days === 0 ? 'expires today' : `expires in ${days} day${days === 1 ? '' : 's'}`;
  return <span className={`badge ${days < EXPIRY_WARNING_DAYS ? 'badge-amber' : 'badge-green'}`}>{text}</span>;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDay(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

/** "3 minutes ago", with the exact time on hover and for screen readers in <time>. */
export function RelativeTime({ iso, never = 'never' }: { iso: string | null; never?: string }) {
  if (!iso) return <span className="muted">{never}</span>;
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  let text: string;
  if (seconds < 10) text = 'just now';
  else if (seconds < 60) text = `${seconds} seconds ago`;
  else if (seconds < 3600) text = plural(Math.floor(seconds / 60), 'minute');
  else if (seconds < 86400) text = plural(Math.floor(seconds / 3600), 'hour');
  else text = plural(Math.floor(seconds / 86400), 'day');
  return (
    <time dateTime={iso} title={formatDate(iso)}>
      {text}
    </time>
  );
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain-HTTP origins other than localhost have no clipboard API.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  document.execCommand('copy');
  area.remove();
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return undefined;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      className="button button-small"
      aria-label={label}
      onClick={() =>
        copyText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        )
      }
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}
      <span className="visually-hidden" role="status">
        {state === 'copied' ? 'Copied to the clipboard' : ''}
      </span>
    </button>
  );
}

/**
 * Cursor paging for a list (DESIGN §8): the cursors of the pages visited, so Previous goes back
 * to exactly the page it left; a change of filter starts again from the first page.
 */
export function usePages() {
  const [cursors, setCursors] = useState<readonly (string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    index: cursors.length - 1,
    next: (cursor: string) => setCursors((visited) => [...visited, cursor]),
    previous: () => setCursors((visited) => (visited.length > 1 ? visited.slice(0, -1) : visited)),
    reset: () => setCursors([undefined]),
  };
}

export type Pages = ReturnType<typeof usePages>;

/** Page controls under a table: previous / next, and where we are ("of more than 10,000" when the server did not count). */
export function Pager({ pages, perPage, page, what }: { pages: Pages; perPage: number; page: { list: readonly unknown[]; total: number | null; nextCursor: string | null }; what: string }) {
  const shown = page.list.length;
  if (pages.index === 0 && page.nextCursor === null) return <p className="muted table-count">{shown === 1 ? `1 ${what}` : `${shown} ${what}s`}</p>;
  const from = shown === 0 ? 0 : pages.index * perPage + 1;
  const to = pages.index * perPage + shown;
  return (
    <nav className="pager" aria-label={`${what} pages`}>
      <button type="button" className="button button-small" disabled={pages.index === 0} onClick={pages.previous}>
        Previous
      </button>
      <span className="muted">
        {from.toLocaleString('en-US')}–{to.toLocaleString('en-US')} of {page.total === null ? 'more than 10,000' : page.total.toLocaleString('en-US')}
      </span>
      <button type="button" className="button button-small" disabled={page.nextCursor === null} onClick={() => page.nextCursor !== null && pages.next(page.nextCursor)}>
        Next
      </button>
    </nav>
  );
}

/** A fingerprint in colon-separated pairs, breakable anywhere, copyable whole. */
export function Fingerprint({ hex }: { hex: string }) {
  const pairs = hex.toUpperCase().match(/.{1,2}/g)?.join(':') ?? hex;
  return (
    <span className="fingerprint">
      <code title={pairs}>{pairs}</code>
    </span>
  );
}

/** A labelled file chooser with its hint: the one way a page asks for a certificate or CRL file. */
export function FileField({ label, accept, hint, onChange }: { label: string; accept: string; hint: ReactNode; onChange: (file: File | undefined) => void }) {
  const fileId = useId();
  const hintId = useId();
  return (
    <div className="field">
      <label htmlFor={fileId}>{label}</label>
      <div className="file-picker">
        <input id={fileId} type="file" accept={accept} className="file-input" aria-describedby={hintId} onChange={(e) => onChange(e.target.files?.[0])} />
      </div>
      <p id={hintId} className="hint">
        {hint}
      </p>
    </div>
  );
}

/** A dialog form's last row: Cancel, and the submit button that says when it is busy. */
export function FormActions({ onCancel, label, busyLabel, busy, disabled }: { onCancel: () => void; label: string; busyLabel: string; busy: boolean; disabled: boolean }) {
  return (
    <div className="form-actions">
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
      <button type="submit" className="button button-primary" disabled={disabled}>
        {busy ? busyLabel : label}
      </button>
    </div>
  );
}

/** A dialog form's refusal, one paragraph per line, announced as an alert. */
export function FormError({ lines }: { lines: readonly string[] | undefined }) {
  if (!lines || lines.length === 0) return null;
  return (
    <div className="alert alert-error" role="alert">
      {lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
    </div>
  );
}
