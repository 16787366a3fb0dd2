import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.js';
import { RouterProvider } from './router.js';
import { clientFor, SignInAgain, storedSession, storeSession, type ConsoleSession } from './session.js';
import { SignIn } from './screens/sign-in.js';
import './styles.css';

function Root() {
  const [session, setSession] = useState<ConsoleSession | null>(storedSession);
  const [notice, setNotice] = useState<string | null>(null);
  const end = (message: string | null) => {
    storeSession(null);
    setSession(null);
    setNotice(message);
  };
  const queryClient = useMemo(() => {
    // A refused token ends the session wherever it surfaces: back to sign-in, saying why.
    const onError = (err: unknown) => { if (err instanceof SignInAgain) end('Your session has expired or is no longer valid. Sign in again.'); };
    return new QueryClient({
      queryCache: new QueryCache({ onError }),
      mutationCache: new MutationCache({ onError }),
      defaultOptions: { queries: { retry: (count, err) => !(err instanceof SignInAgain) && count < 1, refetchOnWindowFocus: true, staleTime: 2_000 } },
    });
    // One cache per session: a new sign-in starts from nothing of the previous app's.
  }, [session]);
  const client = useMemo(() => (session ? clientFor(session) : null), [session]);
  if (!session || !client) {
    return <SignIn notice={notice} onSignedIn={(s) => { storeSession(s); setNotice(null); setSession(s); }} />;
  }
  return (
    <QueryClientProvider client={queryClient}>
      <App session={session} client={client} onSignOut={() => { queryClient.clear(); end('Signed out.'); }} />
    </QueryClientProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <RouterProvider><Root /></RouterProvider>
  </StrictMode>,
);
