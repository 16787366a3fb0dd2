import { TempojobClient, type Session } from '../../src/client/client.js';

/** What a signed-in tab keeps in sessionStorage: gone when the tab closes. The password is never kept. */
export interface ConsoleSession extends Session {
  appName: string;
}

const KEY = 'tempojob.console.session';

/** The server refused the tab's token (expired, or signed by another secret): the user signs in again. */
export class SignInAgain extends Error {
  override name = 'SignInAgain';
}

export function storedSession(): ConsoleSession | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<ConsoleSession>;
    return typeof parsed.appName === 'string' && typeof parsed.appId === 'number' && typeof parsed.token === 'string'
      ? { appName: parsed.appName, appId: parsed.appId, token: parsed.token }
      : null;
  } catch {
    return null;
  }
}

export function storeSession(session: ConsoleSession | null): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}

/** The API is the page's own origin: the console is served by the API at /console. */
const baseUrl = () => window.location.origin;

/** Signs in with the same authApp as every client; throws the server's refusal (wrong name or password). */
export async function signIn(appName: string, password: string): Promise<ConsoleSession> {
  const client = new TempojobClient({ baseUrl: baseUrl(), appName, password, retry: { attempts: 2 } });
  const { appId, token } = await client.authenticate();
  return { appName, appId, token };
}

/**
 * The tab's client: the stored token, and no password to fall back on, so a refused token
 * ends in SignInAgain instead of a silent re-login.
 */
export function clientFor(session: ConsoleSession): TempojobClient {
  return new TempojobClient({
    baseUrl: baseUrl(),
    appName: session.appName,
    session: { appId: session.appId, token: session.token },
    password: () => { throw new SignInAgain('your session has expired or is no longer valid: sign in again'); },
    retry: { attempts: 3, backoffMs: 300 },
  });
}
