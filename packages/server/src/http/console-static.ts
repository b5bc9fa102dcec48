import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './app-env.js';

/**
 * The web console (DESIGN §1, §5): the single-page app's built files, served at `/` on the
 * management port. Every GET outside `/v1` and `/openapi.json` that names no file gets
 * `index.html`, so the console's own paths (`/projects/acme/devices`) survive a reload; the app
 * then talks to the public API like any other client.
 */

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The app needs nothing from elsewhere: scripts, styles and API calls all stay on this origin. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const NOT_BUILT_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>fleetpki</title>
<body>
<h1>fleetpki</h1><p>The web console has not been built. Run <code>npm run build</code> (or <code>npm ci</code>, which builds everything) and restart <code>fleetpki serve</code>.</p>
<p>The management API is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>`;

/** Paths that belong to the API: never answered with the app. */
function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/openapi.json';
}

/** A file of the built console, or undefined when the path names none (or escapes the folder). */
async function readConsoleFile(root: string, urlPath: string): Promise<{ body: Buffer; type: string } | undefined> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = resolve(root, `.${decoded}`);
  if (file !== root && !file.startsWith(root + sep)) return undefined;
  try {
    const info = await stat(file);
    if (!info.isFile()) return undefined;
    return { body: await readFile(file), type: CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
  } catch {
    return undefined;
  }
}

export function consoleRoutes(app: OpenAPIHono<AppEnv>, consoleDir: string | undefined): void {
  const root = consoleDir === undefined ? undefined : resolve(consoleDir);
  app.on(['GET', 'HEAD'], '*', async (c) => {
    const path = c.req.path;
    if (isApiPath(path)) return c.notFound();
    const index = root === undefined ? undefined : await readConsoleFile(root, '/index.html');
    if (root === undefined || index === undefined) {
      return c.body(NOT_BUILT_PAGE, 200, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    }
    const asset = path === '/' ? undefined : await readConsoleFile(root, path);
    if (asset) {
      // Vite names built assets by their content hash: they can be kept for good.
      const cache = path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
      return c.body(new Uint8Array(asset.body), 200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'cache-control': cache });
    }
    // A missing asset is a 404; any other path is one of the app's own pages.
    if (path.startsWith('/assets/') || extname(path) !== '') return c.notFound();
    return c.body(new Uint8Array(index.body), 200, { ...SECURITY_HEADERS, 'content-type': index.type, 'cache-control': 'no-cache' });
  });
}

/** Where `npm run build` puts the console, seen from this file's compiled place (packages/server/dist/src/http). */
export function defaultConsoleDir(): string {
  return fileURLToPath(new URL('../../../../console/dist/app', import.meta.url));
}
