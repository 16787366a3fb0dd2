import { createContext, useContext, useEffect, useRef } from 'react';
import type { TempojobClient } from '../../src/client/client.js';
import { Link, match, useLocation } from './router.js';
import type { ConsoleSession } from './session.js';
import { Overview } from './screens/overview.js';
import { Jobs } from './screens/jobs.js';
import { JobForm } from './screens/job-form.js';
import { Instances } from './screens/instances.js';
import { InstanceDetail } from './screens/instance.js';
import { Workers } from './screens/workers.js';
import { Workflows } from './screens/workflows.js';
import { WorkflowDetail } from './screens/workflow.js';
import { WorkflowForm } from './screens/workflow-form.js';
import { WfInstanceDetail } from './screens/wf-instance.js';
import { Alerts } from './screens/alerts.js';

const ClientContext = createContext<TempojobClient | null>(null);
/** The signed-in app's typed client: every console action is an API call through it. */
export function useClient(): TempojobClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('useClient outside a signed-in console');
  return client;
}

const NAV = [
  { to: '/', label: 'Overview' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/instances', label: 'Instances' },
  { to: '/workflows', label: 'Workflows' },
  { to: '/workers', label: 'Workers' },
  { to: '/alerts', label: 'Alerts' },
] as const;

function Screen() {
  const { path } = useLocation();
  if (path === '/') return <Overview />;
  if (path === '/jobs') return <Jobs />;
  if (path === '/jobs/new') return <JobForm />;
  const job = match('/jobs/:id', path);
  if (job) return <JobForm jobId={Number(job['id'])} />;
  if (path === '/instances') return <Instances />;
  const instance = match('/instances/:id', path);
  if (instance) return <InstanceDetail instanceId={Number(instance['id'])} />;
  if (path === '/workflows') return <Workflows />;
  if (path === '/workflows/new') return <WorkflowForm />;
  const editWorkflow = match('/workflows/:id/edit', path);
  if (editWorkflow) return <WorkflowForm workflowId={Number(editWorkflow['id'])} />;
  const workflow = match('/workflows/:id', path);
  if (workflow) return <WorkflowDetail workflowId={Number(workflow['id'])} />;
  const wfInstance = match('/wf-instances/:id', path);
  if (wfInstance) return <WfInstanceDetail wfInstanceId={Number(wfInstance['id'])} />;
  if (path === '/workers') return <Workers />;
  if (path === '/alerts') return <Alerts />;
  return <section><h1>Not found</h1><p>No console page at {path}. <Link to="/">Go to the overview</Link>.</p></section>;
}

export function App({ session, client, onSignOut }: { session: ConsoleSession; client: TempojobClient; onSignOut: () => void }) {
  const { path } = useLocation();
  const main = useRef<HTMLElement>(null);
  const shown = useRef(path);
  // Moving to another page puts focus on its content, so keyboard and screen-reader users start
  // there; the first page keeps the browser's order (the skip link first).
  useEffect(() => {
    if (shown.current === path) return;
    shown.current = path;
    main.current?.focus({ preventScroll: true });
  }, [path]);
  // A workflow's runs belong to the Workflows section.
  const sectionPath = path.startsWith('/wf-instances') ? '/workflows' : path;
  const section = NAV.filter((item) => item.to !== '/').find((item) => sectionPath.startsWith(item.to))?.to ?? (path === '/' ? '/' : '');
  return (
    <ClientContext.Provider value={client}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">tempojob</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.to}><Link to={item.to} aria-current={section === item.to ? 'page' : undefined}>{item.label}</Link></li>
            ))}
          </ul>
        </nav>
        <span className="who">app <strong>{session.appName}</strong> <span className="muted">#{session.appId}</span></span>
        <button type="button" onClick={onSignOut}>Sign out</button>
      </header>
      <main id="main" ref={main} tabIndex={-1}><Screen /></main>
    </ClientContext.Provider>
  );
}
