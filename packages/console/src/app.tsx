import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { Api, identifyKey, type Problem } from './api';
import { describeError, describeProblem } from './messages';
import { AuditPage } from './pages/audit-page';
import { ExpiringPage } from './pages/expiring-page';
import { CertificatesPage } from './pages/certificates-page';
import { PkiPage } from './pages/pki-page';
import { DevicePage } from './pages/device-page';
import { DevicesPage } from './pages/devices-page';
import { ProjectsPage } from './pages/projects-page';
import { SettingsPage } from './pages/settings-page';
import { Link, matchProject, navigate, projectPath, usePath } from './router';
import { loadSession, saveSession, SessionContext, useSession, type Session, type StoredSession } from './session';

export function App() {
  const [stored, setStored] = useState<StoredSession | undefined>(() => loadSession());
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const session = useMemo<Session | undefined>(() => {
    if (!stored) return undefined;
    const signOut = () => {
      saveSession(undefined);
      setStored(undefined);
    };
    const onUnauthorized = (problem: Problem) => {
      setNotice(`You were signed out: ${describeProblem(problem)}`);
      signOut();
    };
    return { api: new Api(stored.apiKey, onUnauthorized), kind: stored.kind, signOut };
  }, [stored]);

  if (!session) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(next) => {
          saveSession(next);
          setNotice(undefined);
          setStored(next);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell />
    </SessionContext.Provider>
  );
}

function SignIn({ notice, onSignedIn }: { notice: string | undefined; onSignedIn: (session: StoredSession) => void }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const hintId = useId();
  useEffect(() => {
    document.title = 'Sign in · fleetpki';
  }, []);
  return (
    <main className="signin">
      <form
        className="card signin-card"
        aria-labelledby="signin-title"
        onSubmit={async (event) => {
          event.preventDefault();
          const key = apiKey.trim();
          if (!key) {
            setError('Enter an API key.');
            return;
          }
          setBusy(true);
          setError(undefined);
          try {
            const kind = await identifyKey(key);
            onSignedIn({ apiKey: key, kind });
          } catch (e) {
            setError(describeError(e));
            setBusy(false);
          }
        }}
      >
        <div className="brand brand-large" aria-hidden="true">
          <Logo /> fleetpki
        </div>
        <h1 id="signin-title">Sign in to the console</h1>
        {notice && (
          <div className="alert alert-warning" role="status">
            {notice}
          </div>
        )}
        <div className="field">
          <label htmlFor={inputId}>API key</label>
          <input
            id={inputId}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={apiKey}
            onChange={(e) => setApiKey(e.target.value)}
            aria-describedby={hintId}
            aria-invalid={error ? true : undefined}
            autoFocus
          />
          <p id={hintId} className="hint">
            The admin key or a project key. The server wrote the admin key to <code>fleetpki-data/admin-api-key</code> on its first start. The key is kept only
            for this browser session.
          </p>
        </div>
        {error && (
          <div className="alert alert-error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="button button-primary button-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

export function Logo() {
  return (
    <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="6" fill="#1d4ed8" />
      <path d="M16 6l8 3v6c0 5-3.5 9-8 11-4.5-2-8-6-8-11V9z" fill="#fff" />
    </svg>
  );
}

/** The frame around every signed-in page: header, the project's navigation, the page. */
function Shell() {
  const path = usePath();
  const mainRef = useRef<HTMLElement>(null);
  const project = matchProject(path);
  const { kind, signOut } = useSession();

  // After a navigation, focus goes to the page's heading area so keyboard and screen-reader
  // users start at the new content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.focus({ preventScroll: true });
  }, [path]);

  let page;
  if (project) {
    const [section, sub, id] = project.rest;
    if (section === undefined) page = <Redirect to={projectPath(project.slug, 'devices')} />;
    else if (section === 'devices' && sub === undefined) page = <DevicesPage slug={project.slug} />;
    else if (section === 'devices' && sub !== undefined) page = <DevicePage slug={project.slug} deviceId={sub} />;
    else if (section === 'credentials' && (sub === 'certificates' || sub === undefined) && id === undefined) page = <CertificatesPage slug={project.slug} />;
    else if (section === 'credentials' && sub === 'pki' && id === undefined) page = <PkiPage slug={project.slug} />;
    else if (section === 'credentials' && sub === 'expiring' && id === undefined) page = <ExpiringPage slug={project.slug} />;
    else if (section === 'audit') page = <AuditPage slug={project.slug} />;
    else if (section === 'settings') page = <SettingsPage slug={project.slug} />;
    else page = <NotFound />;
  } else if (path === '/' || path === '/projects') page = <ProjectsPage />;
  else if (path === '/audit' && kind === 'admin') page = <AuditPage slug={null} />;
  else page = <NotFound />;

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="fleetpki: all projects">
          <Logo /> <span>fleetpki</span>
        </Link>
        <nav aria-label="Console" className="topnav">
          <Link to="/" aria-current={path === '/' || path === '/projects' ? 'page' : undefined}>
            Projects
          </Link>
          {kind === 'admin' && (
            <Link to="/audit" aria-current={path === '/audit' ? 'page' : undefined}>
              Platform audit
            </Link>
          )}
        </nav>
        <div className="topbar-end">
          <span className="badge badge-neutral" title="The kind of API key you signed in with">
            {kind === 'admin' ? 'Admin key' : 'Project key'}
          </span>
          <button type="button" className="button button-small" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <div className={project ? 'layout layout-project' : 'layout'}>
        {project && <ProjectNav slug={project.slug} section={project.rest[0]} sub={project.rest[1]} />}
        <main id="main" ref={mainRef} tabIndex={-1} className="content">
          {page}
        </main>
      </div>
    </div>
  );
}

function ProjectNav({ slug, section, sub }: { slug: string; section: string | undefined; sub: string | undefined }) {
  const current = (name: string) => (section === name ? 'page' : undefined);
  const currentCredentials = (name: string) => (section === 'credentials' && (sub ?? 'certificates') === name ? 'page' : undefined);
  return (
    <nav className="sidenav" aria-label={`Project ${slug}`}>
      <p className="sidenav-project">
        <span className="muted">Project</span> <strong>{slug}</strong>
      </p>
      <ul>
        <li>
          <Link to={projectPath(slug, 'devices')} aria-current={current('devices')}>
            Devices
          </Link>
        </li>
        <li className="sidenav-group">
          <span className="sidenav-group-label" id="nav-credentials">
            Credentials
          </span>
          <ul aria-labelledby="nav-credentials">
            <li>
              <Link to={projectPath(slug, 'credentials', 'certificates')} aria-current={currentCredentials('certificates')}>
                Certificates
              </Link>
            </li>
            <li>
              <Link to={projectPath(slug, 'credentials', 'pki')} aria-current={currentCredentials('pki')}>
                Issuing CA
              </Link>
            </li>
            <li>
              <Link to={projectPath(slug, 'credentials', 'expiring')} aria-current={currentCredentials('expiring')}>
                Expiring
              </Link>
            </li>
          </ul>
        </li>
        <li>
          <Link to={projectPath(slug, 'audit')} aria-current={current('audit')}>
            Audit
          </Link>
        </li>
        <li>
          <Link to={projectPath(slug, 'settings')} aria-current={current('settings')}>
            Project Settings
          </Link>
        </li>
      </ul>
    </nav>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/">Go to the projects</Link>.
      </p>
    </section>
  );
}
