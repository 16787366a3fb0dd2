import { Rng } from './rng.js';
import type { FaultProxy } from './fault-proxy.js';
import type { Topology } from './topology.js';

/**
 * The fault injector. `planFaults` draws the whole schedule from the seed before the run
 * starts (same seed, duration, profile and targets → the same schedule), so a run can be
 * replayed; `injectFaults` applies it, one fault at a time, and logs when each really
 * started and ended.
 */

export type FaultKind = 'kill' | 'stall' | 'pg-restart' | 'proxy-delay' | 'proxy-drop';

export interface PlannedFault {
  /** Planned start, ms after the fault phase began (a fault starts no earlier than the previous one ended). */
  atMs: number;
  kind: FaultKind;
  /** kill and stall: the process (`api-1`, `core-2`, `processor-3`, `temporal-history`, …). */
  target?: string;
  /** stall, proxy-delay, proxy-drop: how long. */
  durationMs?: number;
  /** proxy-delay: added to every chunk, both ways. */
  latencyMs?: number;
}

export interface AppliedFault extends PlannedFault {
  startedAt: number;
  /** When it was over: the process continued, or was back and ready; the proxy healed; PostgreSQL back. */
  endedAt: number;
  /** What went wrong applying or recovering from it (the run goes on). */
  error?: string;
}

export interface FaultProfile {
  /** Gap between one fault's end and the next one's planned start. */
  gapMs: [number, number];
  stallMs: [number, number];
  proxyDelayMs: [number, number];
  proxyLatencyMs: [number, number];
  proxyDropMs: [number, number];
}

export const FAULT_PROFILES: Record<'full' | 'short', FaultProfile> = {
  full: { gapMs: [5_000, 25_000], stallMs: [1_000, 60_000], proxyDelayMs: [5_000, 30_000], proxyLatencyMs: [50, 2_000], proxyDropMs: [2_000, 20_000] },
  short: { gapMs: [10_000, 25_000], stallMs: [1_000, 20_000], proxyDelayMs: [5_000, 15_000], proxyLatencyMs: [50, 1_000], proxyDropMs: [2_000, 10_000] },
};

/**
 * The schedule: faults are dealt from a deck holding a kill and a stall of every target, a
 * PostgreSQL restart, a proxy delay and a proxy drop, shuffled by the seed and dealt again
 * when empty, so a long run hits every process kind in both ways. Planned times assume each
 * fault lasts its duration; restarts take what they take, and later faults slip behind them.
 */
export function planFaults(seed: number, durationMs: number, profile: FaultProfile, targets: readonly string[]): PlannedFault[] {
  const rng = new Rng(seed);
  const plan: PlannedFault[] = [];
  let deck: PlannedFault['kind'][] = [];
  let deckTargets: (string | undefined)[] = [];
  const deal = () => {
    const entries: [FaultKind, string | undefined][] = [
      ...targets.flatMap((target): [FaultKind, string][] => [['kill', target], ['stall', target]]),
      ['pg-restart', undefined], ['proxy-delay', undefined], ['proxy-drop', undefined],
    ];
    for (let i = entries.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
    deck = entries.map(([kind]) => kind);
    deckTargets = entries.map(([, target]) => target);
  };
  const between = ([min, max]: [number, number]) => rng.int(min, max);
  for (let at = between(profile.gapMs); at < durationMs;) {
    if (deck.length === 0) deal();
    const kind = deck.shift()!;
    const target = deckTargets.shift();
    const fault: PlannedFault = { atMs: at, kind, ...(target ? { target } : {}) };
    if (kind === 'stall') fault.durationMs = between(profile.stallMs);
    if (kind === 'proxy-delay') Object.assign(fault, { durationMs: between(profile.proxyDelayMs), latencyMs: between(profile.proxyLatencyMs) });
    if (kind === 'proxy-drop') fault.durationMs = between(profile.proxyDropMs);
    plan.push(fault);
    at += (fault.durationMs ?? 0) + between(profile.gapMs);
  }
  return plan;
}

/**
 * Applies `plan` from `phaseStart` on, one fault at a time, until it is done or `signal`
 * aborts (the fault phase is over): a stall or proxy fault under way then ends at once, a
 * restart under way finishes. Every process is running and the proxy passes traffic when
 * this resolves.
 */
export async function injectFaults(
  plan: readonly PlannedFault[],
  phaseStart: number,
  deps: { topology: Topology; proxy: FaultProxy; log: (line: string) => void },
  signal: AbortSignal,
): Promise<AppliedFault[]> {
  const applied: AppliedFault[] = [];
  for (const fault of plan) {
    if (!(await waitUntil(phaseStart + fault.atMs, signal))) break;
    const startedAt = Date.now();
    deps.log(`fault ${describeFault(fault)}`);
    let error: string | undefined;
    try {
      await apply(fault, deps, signal);
    } catch (err) {
      // The first line, and the line of the output that says what went wrong, if there is one.
      const lines = (err as Error).message.split('\n');
      error = [lines[0], lines.find((line) => /ERROR|error/.test(line) && line !== lines[0])].filter(Boolean).join(' ');
      deps.log(`fault ${fault.kind} ${fault.target ?? ''}: ${error}`);
      // A supervisor keeps trying: the run must go on with every process there.
      if (fault.kind === 'kill' || fault.kind === 'pg-restart') await recover(fault, deps);
    }
    applied.push({ ...fault, startedAt, endedAt: Date.now(), ...(error ? { error } : {}) });
  }
  deps.proxy.heal();
  return applied;
}

export function describeFault(fault: PlannedFault): string {
  switch (fault.kind) {
    case 'kill': return `SIGKILL ${fault.target}, then restart`;
    case 'stall': return `SIGSTOP ${fault.target} for ${fault.durationMs} ms, then SIGCONT`;
    case 'pg-restart': return 'PostgreSQL stopped (immediate) and started';
    case 'proxy-delay': return `proxy delays traffic to Temporal by ${fault.latencyMs} ms for ${fault.durationMs} ms`;
    case 'proxy-drop': return `proxy drops traffic to Temporal for ${fault.durationMs} ms, then resets those connections`;
  }
}

async function apply(fault: PlannedFault, { topology, proxy }: { topology: Topology; proxy: FaultProxy }, signal: AbortSignal): Promise<void> {
  switch (fault.kind) {
    case 'kill':
      return topology.kill(fault.target!);
    case 'stall':
      return topology.stall(fault.target!, fault.durationMs!, signal);
    case 'pg-restart':
      return topology.restartPostgres();
    case 'proxy-delay':
      proxy.delay(fault.latencyMs!);
      await waitUntil(Date.now() + fault.durationMs!, signal);
      return proxy.heal();
    case 'proxy-drop':
      proxy.drop();
      await waitUntil(Date.now() + fault.durationMs!, signal);
      return proxy.heal();
  }
}

/** After a failed restart: try again, a few times, as a supervisor would. */
async function recover(fault: PlannedFault, { topology, log }: { topology: Topology; log: (line: string) => void }): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      await (fault.kind === 'kill' ? topology.restart(fault.target!) : topology.restartCluster());
      return;
    } catch (err) {
      log(`recovery of ${fault.target ?? 'PostgreSQL'}, attempt ${attempt}: ${(err as Error).message.split('\n')[0]}`);
      await waitUntil(Date.now() + 2_000 * attempt, undefined);
    }
  }
  throw new Error(`${fault.target ?? 'PostgreSQL'} could not be restarted`);
}

/** Resolves true at `time`, or false as soon as `signal` aborts. */
function waitUntil(time: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolveWait) => {
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolveWait(true); }, Math.max(0, time - Date.now()));
    const onAbort = () => { clearTimeout(timer); resolveWait(false); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
