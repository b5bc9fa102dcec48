import { createContext, useContext } from 'react';
import type { Api, KeyKind } from './api';

/** The signed-in key lives in sessionStorage: gone when the browser session ends, never in a cookie. */
const STORAGE_KEY = 'fleetpki.console.session';

export interface StoredSession {
  readonly apiKey: string;
  readonly kind: KeyKind;
}

export function loadSession(): StoredSession | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<StoredSession>;
    if (typeof parsed.apiKey === 'string' && (parsed.kind === 'admin' || parsed.kind === 'project')) return { apiKey: parsed.apiKey, kind: parsed.kind };
  } catch {
    // storage disabled or a damaged entry: sign in again
  }
  return undefined;
}

export function saveSession(session: StoredSession | undefined): void {
  try {
    if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

export interface Session {
  readonly api: Api;
  readonly kind: KeyKind;
  signOut(): void;
}

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}
