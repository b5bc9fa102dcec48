import { useEffect, useId, useState } from 'react';
import { ApiError, type Project } from '../api';
import { describeError } from '../messages';
import { Link, navigate, projectPath } from '../router';
import { useSession } from '../session';
import { ConfirmDialog, Dialog, ErrorMessage, formatDate, FormActions, Loading, useResource } from '../ui';

/** DESIGN §3: the project slug, the project ID in every path. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** The server's own derivation (packages/server/src/domain/projects.ts), so the suggestion is what it would pick. */
export function slugFromName(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

export function ProjectsPage() {
  const { api, kind } = useSession();
  const projects = useResource(() => api.listProjects(0, 500), [api]);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Project | undefined>(undefined);
  useEffect(() => {
    document.title = 'Projects · fleetpki';
  }, []);

  return (
    <section aria-labelledby="projects-title">
      <div className="page-header">
        <h1 id="projects-title">Projects</h1>
        {kind === 'admin' && (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
            Create project
          </button>
        )}
      </div>
      <p className="lead">A project holds the CA certificates its devices chain to, and the devices themselves. Devices name their project in their certificate’s O.</p>
      <ErrorMessage error={projects.error} />
      {projects.loading && !projects.data && <Loading what="projects" />}
      {projects.data && projects.data.list.length === 0 && (
        <div className="empty">
          <p>No projects yet.</p>
          {kind === 'admin' && (
            <button type="button" className="button button-primary" onClick={() => setCreating(true)}>
              Create your first project
            </button>
          )}
        </div>
      )}
      {projects.data && projects.data.list.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <caption className="visually-hidden">Projects</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Slug (project ID)</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {projects.data.list.map((project) => (
                <tr key={project.slug}>
                  <td data-label="Name">
                    <Link to={projectPath(project.slug, 'devices')}>{project.name}</Link>{' '}
                    {project.certificatesExpiringSoon > 0 && (
                      <Link to={projectPath(project.slug, 'credentials', 'expiring')} className="badge badge-amber" title="active device certificates and enabled CA certificates ending within 7 days">
                        {project.certificatesExpiringSoon} expiring within 7 days
                      </Link>
                    )}
                  </td>
                  <td data-label="Slug">
                    <code>{project.slug}</code>
                  </td>
                  <td data-label="Created">{formatDate(project.createdAt)}</td>
                  <td className="actions">
                    <Link className="button button-small" to={projectPath(project.slug, 'credentials', 'certificates')} aria-label={`Certificates of ${project.name}`}>
                      Certificates
                    </Link>
                    {kind === 'admin' && (
                      <button type="button" className="button button-small button-danger-quiet" onClick={() => setDeleting(project)} aria-label={`Delete project ${project.name}`}>
                        Delete
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <CreateProjectDialog
        open={creating}
        onClose={() => setCreating(false)}
        onCreated={(project) => {
          setCreating(false);
          navigate(projectPath(project.slug, 'devices'));
        }}
      />
      <ConfirmDialog
        open={deleting !== undefined}
        title={`Delete project ${deleting?.name ?? ''}`}
        message={
          <p>
            This deletes the project <strong>{deleting?.slug}</strong> with all its CA certificates, devices and API keys. Its devices will no longer connect. The audit log is
            kept. This cannot be undone.
          </p>
        }
        confirmLabel="Delete project"
        confirmText={deleting?.slug}
        onClose={() => setDeleting(undefined)}
        onConfirm={async () => {
          if (!deleting) return;
          await api.deleteProject(deleting.slug);
          await projects.reload();
        }}
      />
    </section>
  );
}

type SlugCheck = { state: 'empty' } | { state: 'invalid' } | { state: 'checking' } | { state: 'available' } | { state: 'taken' } | { state: 'unknown'; message: string };

function CreateProjectDialog({ open, onClose, onCreated }: { open: boolean; onClose: () => void; onCreated: (project: Project) => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [check, setCheck] = useState<SlugCheck>({ state: 'empty' });
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const nameId = useId();
  const slugId = useId();
  const slugHelpId = useId();

  useEffect(() => {
    if (open) {
      setName('');
      setSlug('');
      setSlugEdited(false);
      setError(undefined);
      setBusy(false);
    }
  }, [open]);

  // Live validation: the pattern at once, then whether the slug is free (debounced).
  useEffect(() => {
    if (slug === '') return setCheck({ state: 'empty' });
    if (!SLUG_PATTERN.test(slug)) return setCheck({ state: 'invalid' });
    setCheck({ state: 'checking' });
    let cancelled = false;
    const timer = setTimeout(() => {
      api.getProject(slug).then(
        () => !cancelled && setCheck({ state: 'taken' }),
        (e: unknown) => {
          if (cancelled) return;
          if (e instanceof ApiError && e.problem.code === 'PROJECT_NOT_FOUND') setCheck({ state: 'available' });
          else setCheck({ state: 'unknown', message: describeError(e) });
        },
      );
    }, 250);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [slug, api]);

  const slugMessage: Record<SlugCheck['state'], string> = {
    empty: 'Lower-case letters, digits and hyphens; devices put it in their certificate’s O. It cannot be changed later.',
    invalid: 'A slug is 2 to 63 characters: lower-case letters (a–z), digits and hyphens, starting with a letter or digit.',
    checking: 'Checking whether this slug is free…',
    available: `“${slug}” is available.`,
    taken: `A project with the slug “${slug}” already exists.`,
    unknown: check.state === 'unknown' ? check.message : '',
  };
  const slugBad = check.state === 'invalid' || check.state === 'taken';
  const canSubmit = name.trim() !== '' && SLUG_PATTERN.test(slug) && check.state !== 'taken' && !busy;

  return (
    <Dialog title="Create project" open={open} onClose={onClose}>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          if (!canSubmit) return;
          setBusy(true);
          setError(undefined);
          try {
            onCreated(await api.createProject(name.trim(), slug));
          } catch (e) {
            setError(e);
            setBusy(false);
          }
        }}
      >
        <div className="field">
          <label htmlFor={nameId}>Name</label>
          <input
            id={nameId}
            value={name}
            maxLength={200}
            autoFocus
            autoComplete="off"
            onChange={(e) => {
              setName(e.target.value);
              if (!slugEdited) setSlug(slugFromName(e.target.value));
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={slugId}>Slug (project ID)</label>
          <input
            id={slugId}
            value={slug}
            maxLength={63}
            autoComplete="off"
            spellCheck={false}
            aria-describedby={slugHelpId}
            aria-invalid={slugBad ? true : undefined}
            onChange={(e) => {
              setSlugEdited(true);
              setSlug(e.target.value);
            }}
          />
          <p id={slugHelpId} className={`hint ${slugBad ? 'hint-error' : check.state === 'available' ? 'hint-ok' : ''}`} aria-live="polite">
            {slugMessage[check.state]}
          </p>
        </div>
        <ErrorMessage error={error} />
        <FormActions onCancel={onClose} label="Create project" busyLabel="Creating…" busy={busy} disabled={!canSubmit} />
      </form>
    </Dialog>
  );
}
