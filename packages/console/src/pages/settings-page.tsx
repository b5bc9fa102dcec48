import { useEffect } from 'react';
import { fetchServerCaPem } from '../api';
import { useSession } from '../session';
import { CopyButton, ErrorMessage, formatDate, Loading, useResource } from '../ui';
import { WebhooksSection } from './webhooks-page';

export function SettingsPage({ slug }: { slug: string }) {
  const { api } = useSession();
  const project = useResource(() => api.getProject(slug), [api, slug]);
  const serverCa = useResource(fetchServerCaPem, []);
  useEffect(() => {
    document.title = `Project Settings · ${slug} · fleetpki`;
  }, [slug]);
  const host = location.hostname;

  return (
    <section aria-labelledby="settings-title">
      <div className="page-header">
        <h1 id="settings-title">Project Settings</h1>
      </div>
      <ErrorMessage error={project.error} />
      {project.loading && !project.data && <Loading what="the project" />}
      {project.data && (
        <div className="card">
          <h2>Project</h2>
          <dl className="facts">
            <dt>Name</dt>
            <dd>{project.data.name}</dd>
            <dt id="project-id-label">Project ID (slug)</dt>
            <dd className="copy-row">
              <code aria-labelledby="project-id-label" data-testid="project-slug">
                {project.data.slug}
              </code>
              <CopyButton text={project.data.slug} label="Copy the project ID" />
            </dd>
            <dt>Created</dt>
            <dd>{formatDate(project.data.createdAt)}</dd>
          </dl>
          <p className="hint">
            Devices put the project ID in their certificate’s subject as the organization: <code>/O={project.data.slug}/CN=&lt;certificate ID&gt;</code>. It is also the
            project’s name in every API path (<code>/v1/projects/{project.data.slug}/…</code>).
          </p>
        </div>
      )}
      <div className="card">
        <h2>Server CA for firmware</h2>
        <p>
          Devices verify the server with the platform’s root CA, <strong>fleetpki Root X1</strong>. Embed it in firmware or pass it to your client (
          <code>curl --cacert</code>, <code>mosquitto_pub --cafile</code>).
        </p>
        <div className="button-row">
          <a className="button button-primary" href="/v1/server-ca" download="fleetpki-root.pem">
            Download PEM
          </a>
          <a className="button" href="/v1/server-ca?format=der" download="fleetpki-root.der">
            Download DER
          </a>
          {serverCa.data && <CopyButton text={serverCa.data} label="Copy the server CA as PEM" />}
        </div>
        <ErrorMessage error={serverCa.error} />
        {serverCa.data && (
          <pre className="pem" aria-label="Server CA, PEM" tabIndex={0}>
            {serverCa.data}
          </pre>
        )}
        {project.data && (
          <>
            <h3>Try a device</h3>
            <pre className="snippet" tabIndex={0} aria-label="Example device commands">
              {`curl -s http://${location.host}/v1/server-ca > fleetpki-root.pem
curl --cert device.crt.pem --key device.key.pem --cacert fleetpki-root.pem \\
     https://${host}:8443/v1/device/identity`}
            </pre>
            <p className="hint">The device gateway listens on port 8443 unless the server was started with another <code>--gateway-port</code>.</p>
          </>
        )}
      </div>
      <WebhooksSection slug={slug} />
    </section>
  );
}
