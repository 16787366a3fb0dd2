import { useState, type FormEvent } from 'react';
import { signIn, type ConsoleSession } from '../session.js';
import { errorMessage } from '../ui.js';

export function SignIn({ notice, onSignedIn }: { notice: string | null; onSignedIn: (session: ConsoleSession) => void }) {
  const [appName, setAppName] = useState('');
  const [password, setPassword] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (pending) return;
    setPending(true);
    setError(null);
    try {
      onSignedIn(await signIn(appName.trim(), password));
    } catch (err) {
      setError(errorMessage(err));
      setPending(false);
    }
  };
  return (
    <main className="sign-in" id="main">
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-title">
        <h1 id="sign-in-title">tempojob console</h1>
        <p className="muted">Sign in with your app's name and password.</p>
        {notice && <p className="notice" role="status">{notice}</p>}
        <label htmlFor="appName">App name</label>
        <input id="appName" name="appName" autoComplete="username" required value={appName} onChange={(e) => setAppName(e.target.value)} autoFocus />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={pending}>{pending ? 'Signing in…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
