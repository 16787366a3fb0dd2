import { useId, type MouseEvent } from 'react';
import { BASE, navigate } from '../router.js';

/** A node as drawn: its id, two lines of text, and optionally a status (colour and label) and a link. */
export interface DrawnNode {
  id: number;
  title: string;
  subtitle: string;
  status?: string;
  href?: string;
}
export interface DrawnEdge { from: number; to: number; property?: string | null }

const WIDTH = 190;
const HEIGHT = 62;
const GAP_X = 70;
const GAP_Y = 22;
const PAD = 12;

/**
 * Longest-path layers, left to right: a node sits one layer right of its furthest predecessor
 * (Kahn's order). A cycle (an editor's draft can hold one) is entered at its first node in list
 * order, as if the edge closing it were not there, and that edge is drawn backwards; edges
 * naming unknown nodes are not drawn.
 */
function layout(nodes: readonly DrawnNode[], edges: readonly DrawnEdge[]): Map<number, { x: number; y: number }> {
  const ids = new Set(nodes.map((n) => n.id));
  const indegree = new Map(nodes.map((n) => [n.id, 0]));
  const out = new Map<number, number[]>();
  for (const e of edges) {
    if (!ids.has(e.from) || !ids.has(e.to)) continue;
    indegree.set(e.to, indegree.get(e.to)! + 1);
    out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  }
  const layer = new Map<number, number>();
  const placed = new Set<number>();
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  while (placed.size < ids.size) {
    const id = ready.shift() ?? nodes.find((n) => !placed.has(n.id))!.id;
    if (placed.has(id)) continue;
    placed.add(id);
    const depth = layer.get(id) ?? 0;
    layer.set(id, depth);
    for (const to of out.get(id) ?? []) {
      if (placed.has(to)) continue;
      layer.set(to, Math.max(layer.get(to) ?? 0, depth + 1));
      indegree.set(to, indegree.get(to)! - 1);
      if (indegree.get(to) === 0) ready.push(to);
    }
  }
  const rows = new Map<number, number>();
  const at = new Map<number, { x: number; y: number }>();
  for (const node of nodes) {
    const column = layer.get(node.id)!;
    const row = rows.get(column) ?? 0;
    rows.set(column, row + 1);
    at.set(node.id, { x: PAD + column * (WIDTH + GAP_X), y: PAD + row * (HEIGHT + GAP_Y) });
  }
  return at;
}

const STATUS_CLASS = (status: string) => `dag-node status-${status.toLowerCase()}`;

/** The DAG as SVG in a frame that scrolls (and takes focus, to scroll from the keyboard); linked nodes are links. */
export function DagView({ nodes, edges, label }: { nodes: readonly DrawnNode[]; edges: readonly DrawnEdge[]; label: string }) {
  const at = layout(nodes, edges);
  const arrow = `dag-arrow${useId().replace(/[^a-zA-Z0-9_-]/g, '')}`;
  const points = [...at.values()];
  const width = Math.max(...points.map((p) => p.x), 0) + WIDTH + PAD;
  const height = Math.max(...points.map((p) => p.y), 0) + HEIGHT + PAD;
  return (
    <div className="dag-frame" tabIndex={0} role="region" aria-label={label}>
      <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} className="dag" data-testid="dag">
        <defs>
          <marker id={arrow} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
          </marker>
        </defs>
        {edges.map((edge, i) => {
          const from = at.get(edge.from);
          const to = at.get(edge.to);
          if (!from || !to) return null;
          const [x1, y1, x2, y2] = [from.x + WIDTH, from.y + HEIGHT / 2, to.x, to.y + HEIGHT / 2];
          const bend = Math.max(30, Math.abs(x2 - x1) / 2);
          return (
            <g key={`${edge.from}-${edge.to}-${i}`} className="dag-edge" data-edge={`${edge.from}-${edge.to}`}>
              <path d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`} fill="none" stroke="currentColor" strokeWidth="1.5" markerEnd={`url(#${arrow})`} />
              {edge.property && <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 4} textAnchor="middle" className="dag-edge-label">{edge.property}</text>}
            </g>
          );
        })}
        {nodes.map((node) => {
          const p = at.get(node.id)!;
          const box = (
            <g className={STATUS_CLASS(node.status ?? 'none')} data-node-id={node.id} data-status={node.status}>
              <title>{`${node.title} · ${node.subtitle}${node.status ? ` · ${node.status}` : ''}`}</title>
              <rect x={p.x} y={p.y} width={WIDTH} height={HEIGHT} rx="8" />
              <text x={p.x + 10} y={p.y + 20} className="dag-title">{clip(node.title, 24)}</text>
              <text x={p.x + 10} y={p.y + 37} className="dag-sub">{clip(node.subtitle, 28)}</text>
              {node.status && <text x={p.x + 10} y={p.y + 54} className="dag-status">{node.status}</text>}
            </g>
          );
          return node.href
            ? <a key={node.id} href={`${BASE}${node.href}`} onClick={inPlace(node.href)}>{box}</a>
            : <g key={node.id}>{box}</g>;
        })}
      </svg>
    </div>
  );
}

/** A plain click navigates in place, as the console's links do; a modified one opens a tab. */
const inPlace = (to: string) => (event: MouseEvent<Element>) => {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
};

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
