import { describe, expect, it } from 'vitest';
import { AttemptMemory } from '../src/workers/attempt.js';

describe('AttemptMemory: one run per attempt in a worker process', () => {
  it('a second delivery of a running or finished attempt gets the first run\'s outcome, and user code runs once', async () => {
    const memory = new AttemptMemory();
    let runs = 0;
    let finish!: (value: string) => void;
    const call = () => { runs++; return new Promise<string>((resolve) => { finish = resolve; }); };
    const first = memory.once('tempojob:1:1', call);
    const whileRunning = memory.once('tempojob:1:1', call);
    finish('done');
    expect(await first).toBe('done');
    expect(await whileRunning).toBe('done');
    expect(await memory.once('tempojob:1:1', call)).toBe('done');
    expect(runs).toBe(1);
    // Another attempt is another run.
    const next = memory.once('tempojob:1:2', call);
    finish('again');
    expect(await next).toBe('again');
    expect(runs).toBe(2);
  });

  it('forgets a run that failed or was aborted, so a later delivery runs it anew', async () => {
    const memory = new AttemptMemory();
    let runs = 0;
    await expect(memory.once('k', async () => { runs++; throw new Error('aborted'); })).rejects.toThrow('aborted');
    expect(await memory.once('k', async () => { runs++; return 'ran'; })).toBe('ran');
    expect(runs).toBe(2);
  });

  it('keeps at most its capacity of keys, dropping the oldest', async () => {
    const memory = new AttemptMemory(2);
    let runs = 0;
    const call = async () => ++runs;
    for (const key of ['a', 'b', 'c']) await memory.once(key, call);
    expect(await memory.once('c', call)).toBe(3);
    expect(await memory.once('a', call)).toBe(4);
  });
});
