/** Who is calling: the admin key spans projects, a project key sees only its own project. */
export type Principal =
  | { readonly kind: 'admin'; readonly keyId: string; readonly keyPrefix: string }
  | { readonly kind: 'project'; readonly keyId: string; readonly keyPrefix: string; readonly projectId: string };

/** How the audit log names a principal: which key did it, never the key itself. */
export function actorName(principal: Principal): string {
  return `${principal.kind === 'admin' ? 'admin-key' : 'project-key'}:${principal.keyPrefix}`;
}
