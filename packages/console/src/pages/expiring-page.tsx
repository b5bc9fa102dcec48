import { useEffect, useMemo, useState } from 'react';
import type { DeviceCertificate } from '../api';
import { projectPath, Link } from '../router';
import { useSession } from '../session';
import { ErrorMessage, ExpiryBadge, Fingerprint, formatDay, Loading, Pager, usePages, useResource } from '../ui';

const WINDOWS = [7, 30, 90] as const;
type Window = (typeof WINDOWS)[number];
const PER_PAGE = 50;
const DAY_MS = 24 * 3600 * 1000;
/** Certificates a CSV download fetches, page by page (the API's largest page). */
const CSV_PAGE = 500;
const CSV_COLUMNS = ['fingerprintSha256', 'serialNumber', 'subject', 'issuer', 'notBefore', 'notAfter', 'deviceId', 'caId', 'source', 'status'] as const;

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | null): string {
  const text = value ?? '';
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function certificatesCsv(certificates: readonly DeviceCertificate[]): string {
  const lines = [CSV_COLUMNS.join(','), ...certificates.map((c) => CSV_COLUMNS.map((column) => csvField(c[column])).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * The project's Expiring page (issue 17, 1): how many active device certificates end within 7,
 * 30 and 90 days, the list for the chosen window (soonest first), and the list as CSV.
 */
export function ExpiringPage({ slug }: { slug: string }) {
  const { api } = useSession();
  const [window, setWindow] = useState<Window>(30);
  const pages = usePages();
  // One instant for the counts and the list, so they agree.
  const now = useMemo(() => Date.now(), [slug]);
  const before = (days: number) => new Date(now + days * DAY_MS).toISOString();
  const after = new Date(now).toISOString();
  const counts = useResource(
    () => Promise.all(WINDOWS.map((days) => api.listProjectDeviceCertificates(slug, { status: 'active', expiresAfter: after, expiresBefore: before(days), perPage: 1, count: 'true' }).then((r) => r.total ?? 0))),
    [api, slug, now],
  );
  const list = useResource(() => api.listProjectDeviceCertificates(slug, { status: 'active', expiresAfter: after, expiresBefore: before(window), cursor: pages.cursor, perPage: PER_PAGE }), [api, slug, now, window, pages.cursor]);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<unknown>(undefined);
  useEffect(() => {
    document.title = `Expiring · ${slug} · fleetpki`;
  }, [slug]);

  const download = async () => {
    setDownloading(true);
    setDownloadError(undefined);
    try {
      const all: DeviceCertificate[] = [];
      for (let cursor: string | undefined; ; ) {
        const chunk = await api.listProjectDeviceCertificates(slug, { status: 'active', expiresAfter: after, expiresBefore: before(window), cursor, perPage: CSV_PAGE });
        all.push(...chunk.list);
        if (chunk.nextCursor === null) break;
        cursor = chunk.nextCursor;
      }
      const url = URL.createObjectURL(new Blob([certificatesCsv(all)], { type: 'text/csv' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `${slug}-expiring-${window}-days.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      setDownloadError(error);
    } finally {
      setDownloading(false);
    }
  };

  return (
    <section aria-labelledby="expiring-title">
      <p className="breadcrumb">Credentials</p>
      <div className="page-header">
        <h1 id="expiring-title">Expiring</h1>
        <button type="button" className="button" onClick={() => void download()} disabled={downloading || !list.data || list.data.total === 0}>
          {downloading ? 'Preparing CSV…' : 'Download CSV'}
        </button>
      </div>
      <p className="lead">Active device certificates that end soon, soonest first. Devices renew from their renewAfter time; these are the ones running out.</p>
      <ErrorMessage error={counts.error ?? list.error ?? downloadError} />
      <div className="stat-row" role="group" aria-label="Expiring within">
        {WINDOWS.map((days, i) => (
          <button key={days} type="button" className={`stat ${window === days ? 'stat-current' : ''}`} aria-pressed={window === days} onClick={() => (setWindow(days), pages.reset())}>
            <span className="stat-value" data-testid={`expiring-${days}`}>
              {counts.data ? counts.data[i] : '…'}
            </span>
            <span className="stat-label">within {days} days</span>
          </button>
        ))}
      </div>
      {list.loading && !list.data && <Loading what="certificates" />}
      {list.data && list.data.total === 0 && (
        <div className="empty">
          <p>No active device certificate ends within {window} days.</p>
        </div>
      )}
      {list.data && list.data.list.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table" aria-label={`Certificates expiring within ${window} days`}>
              <thead>
                <tr>
                  <th scope="col">Subject</th>
                  <th scope="col">Device</th>
                  <th scope="col">Not after</th>
                  <th scope="col">Source</th>
                  <th scope="col">SHA-256 fingerprint</th>
                </tr>
              </thead>
              <tbody>
                {list.data.list.map((c) => (
                  <tr key={c.fingerprintSha256}>
                    <td data-label="Subject" className="cell-strong">
                      {c.subject}
                    </td>
                    <td data-label="Device">{c.deviceId ? <Link to={projectPath(slug, 'devices', c.deviceId)}>{c.subject.replace(/^.*CN=/, '')}</Link> : <span className="muted">not yet seen</span>}</td>
                    <td data-label="Not after">
                      <span className="nowrap">{formatDay(c.notAfter)}</span> <ExpiryBadge notAfter={c.notAfter} />
                    </td>
                    <td data-label="Source">{c.source === 'issued' ? 'Issued here' : 'Seen'}</td>
                    <td data-label="SHA-256">
                      <Fingerprint hex={c.fingerprintSha256} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager pages={pages} perPage={PER_PAGE} page={list.data} what="certificate" />
        </>
      )}
    </section>
  );
}
