import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * The console's paths are real URLs (`/projects/acme/devices`): the server answers every one of
 * them with the app, so a reload or a shared link lands on the same page.
 */

const listeners = new Set<() => void>();

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  for (const listener of listeners) listener();
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={follow} {...rest} />;
}

/** `/projects/:slug/...` → the slug and the rest, or undefined. */
export function matchProject(path: string): { slug: string; rest: string[] } | undefined {
  const parts = path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  if (parts[0] !== 'projects' || parts[1] === undefined) return undefined;
  return { slug: parts[1], rest: parts.slice(2) };
}

export function projectPath(slug: string, ...rest: string[]): string {
  return ['', 'projects', slug, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}
