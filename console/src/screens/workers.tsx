import { useQuery } from '@tanstack/react-query';
import { useClient } from '../app.js';
import { ListState, Time } from '../ui.js';

export function useWorkers() {
  const client = useClient();
  return useQuery({ queryKey: ['workers'], queryFn: ({ signal }) => client.listWorkers({ signal }), refetchInterval: 5_000 });
}

export function Workers() {
  const workers = useWorkers();
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      <p className="muted">Processor workers Temporal saw polling or heartbeating in the last 75 s; refreshed every 5 s.</p>
      <ListState query={workers} what="live workers" empty={(list) => list.length === 0}>
        {(list) => (
          <div className="table-wrap">
            <table>
              <caption className="sr-only">Live workers</caption>
              <thead><tr><th scope="col">Worker</th><th scope="col">Tags</th><th scope="col">Last seen</th><th scope="col">Task queues</th></tr></thead>
              <tbody>
                {list.map((worker) => (
                  <tr key={worker.workerId} data-worker-id={worker.workerId}>
                    <td><code>{worker.workerId}</code></td>
                    <td>{worker.tags.length ? worker.tags.map((tag) => <span key={tag} className="tag">{tag}</span>) : <span className="muted">none</span>}</td>
                    <td><Time ms={worker.lastSeen} /></td>
                    <td>{worker.taskQueues.map((queue) => <div key={queue}><code>{queue}</code></div>)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </ListState>
    </section>
  );
}
