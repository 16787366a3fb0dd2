import { useEffect, useRef, useState } from 'react';
import type { InstanceLogLine } from '../../../src/client/client.js';
import { useClient } from '../app.js';
import { errorMessage } from '../ui.js';

/** Lines kept on the page; older ones scroll away (the whole log stays in the store). */
const MAX_LINES = 2_000;

/**
 * The instance's log as it is written (the client's Server-Sent Events tail, resumed after
 * the last line on a dropped connection), until the run has ended and its last lines arrived.
 */
export function LogTail({ instanceId }: { instanceId: number }) {
  const client = useClient();
  const [lines, setLines] = useState<InstanceLogLine[]>([]);
  const [state, setState] = useState<'live' | 'ended' | { error: string }>('live');
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const abort = new AbortController();
    setLines([]);
    setState('live');
    void (async () => {
      try {
        for await (const line of client.tailInstanceLog(instanceId, {}, { signal: abort.signal })) {
          setLines((kept) => [...kept.slice(-(MAX_LINES - 1)), line]);
        }
        setState('ended');
      } catch (err) {
        if (!abort.signal.aborted) setState({ error: errorMessage(err) });
      }
    })();
    return () => abort.abort();
  }, [client, instanceId]);
  useEffect(() => {
    const el = box.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <>
      <h2 id="log-title">Log <span className="muted small">{state === 'live' ? '(live)' : state === 'ended' ? '(complete)' : ''}</span></h2>
      {typeof state === 'object' && <p className="error" role="alert">The log stopped: {state.error}</p>}
      {lines.length === 0
        ? <p className="state empty">{state === 'live' ? 'No lines yet; new ones appear here as they are written.' : 'No log lines.'}</p>
        : <pre className="log" ref={box} role="log" aria-labelledby="log-title" tabIndex={0}>{lines.map((line) => line.text).join('\n')}</pre>}
    </>
  );
}
