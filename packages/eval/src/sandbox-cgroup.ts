// Per-program cgroups: pids and memory limits for a program with all its processes, and a kill that reaches
// every one of them (setsid or not). cgroup v2 (pids.max, memory.max) or the v1 pids and memory hierarchies.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where per-program cgroups can be made, or why not. */
export type CgroupLayout =
  | { version: 2; base: string }
  | { version: 1; pids: string; memory: string }
  | { version: 'none'; reason: string };

/** Limits set on one program's cgroup. */
export interface CgroupLimits {
  maxProcesses: number;
  memoryBytes: number;
}

/** One program's cgroup(s): the `cgroup.procs` files the launcher joins, and what it used. */
export interface RunCgroup {
  procs: string[];
  /** Kills every process in it, reads the peaks and removes it. */
  dispose(): Promise<{ memoryPeakBytes: number | null; pidsPeak: number | null }>;
}

const ROOT = '/sys/fs/cgroup';
let cached: CgroupLayout | undefined;
let sequence = 0;

/** Finds (once) whether this process may create child cgroups with pids and memory limits. */
export function detectCgroups(): CgroupLayout {
  if (process.env.LORALAB_EVAL_SIMULATE_NO_CGROUP === '1') {
    return { version: 'none', reason: 'disabled by LORALAB_EVAL_SIMULATE_NO_CGROUP' };
  }
  if (!cached) {
    cached = probeLayout();
    if (cached.version === 2) sweepStale([cached.base]);
    if (cached.version === 1) sweepStale([cached.pids, cached.memory]);
  }
  return cached;
}

function probeLayout(): CgroupLayout {
  let own: string[];
  try {
    own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch (e) {
    return { version: 'none', reason: `cannot read /proc/self/cgroup: ${(e as Error).message}` };
  }
  const pathOf = (controller: string) =>
    own.map((l) => l.split(':')).find(([, c]) => c!.split(',').includes(controller))?.[2];
  const errors: string[] = [];
  if (existsSync(join(ROOT, 'cgroup.controllers'))) {
    const base = join(ROOT, own.find((l) => l.startsWith('0::'))?.slice(3) ?? '/');
    const layout: CgroupLayout = { version: 2, base };
    const error = tryLayout(layout);
    if (!error) return layout;
    errors.push(`cgroup v2 at ${base}: ${error}`);
  } else {
    const pids = pathOf('pids');
    const memory = pathOf('memory');
    if (pids !== undefined && memory !== undefined) {
      const layout: CgroupLayout = {
        version: 1,
        pids: join(ROOT, 'pids', pids),
        memory: join(ROOT, 'memory', memory),
      };
      const error = tryLayout(layout);
      if (!error) return layout;
      errors.push(`cgroup v1: ${error}`);
    } else errors.push('no cgroup v2 and no cgroup v1 pids and memory hierarchies');
  }
  return { version: 'none', reason: errors.join('; ') };
}

/** Makes and removes one test cgroup; returns why it failed, or undefined. */
function tryLayout(layout: CgroupLayout): string | undefined {
  if (layout.version === 2) {
    let controllers: string[];
    try {
      controllers = readFileSync(join(layout.base, 'cgroup.subtree_control'), 'utf8').split(/\s+/);
    } catch (e) {
      return (e as Error).message;
    }
    if (!controllers.includes('pids') || !controllers.includes('memory')) {
      try {
        writeFileSync(join(layout.base, 'cgroup.subtree_control'), '+pids +memory');
      } catch (e) {
        return `pids and memory are not delegated to ${layout.base} (cgroup.subtree_control: ${(e as Error).message})`;
      }
    }
  }
  try {
    const cg = createRunCgroup(layout, { maxProcesses: 1, memoryBytes: 64 * 1024 ** 2 });
    void cg.dispose();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A fresh cgroup for one program with its limits in force (throws when the layout refuses). */
export function createRunCgroup(layout: CgroupLayout, limits: CgroupLimits): RunCgroup {
  if (layout.version === 'none') throw new Error(layout.reason);
  const name = `loralab-eval-${process.pid}-${++sequence}`;
  const dirs =
    layout.version === 2 ? [join(layout.base, name)] : [join(layout.pids, name), join(layout.memory, name)];
  const made: string[] = [];
  try {
    for (const d of dirs) {
      mkdirSync(d);
      made.push(d);
    }
    if (layout.version === 2) {
      const d = dirs[0]!;
      writeFileSync(join(d, 'pids.max'), String(limits.maxProcesses));
      writeFileSync(join(d, 'memory.max'), String(limits.memoryBytes));
      writeOptional(join(d, 'memory.swap.max'), '0');
      writeOptional(join(d, 'memory.oom.group'), '1');
    } else {
      writeFileSync(join(dirs[0]!, 'pids.max'), String(limits.maxProcesses));
      writeFileSync(join(dirs[1]!, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      writeOptional(join(dirs[1]!, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
    }
  } catch (e) {
    for (const d of made) rmdirQuiet(d);
    throw e;
  }
  return {
    procs: dirs.map((d) => join(d, 'cgroup.procs')),
    dispose: async () => {
      if (layout.version === 2) writeOptional(join(dirs[0]!, 'cgroup.kill'), '1');
      for (let round = 0; round < 200; round++) {
        const left = dirs.flatMap((d) => members(d));
        if (left.length === 0) break;
        for (const pid of left) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await new Promise((r) => setTimeout(r, round < 10 ? 1 : 10));
      }
      const peaks = {
        memoryPeakBytes: readNumber(
          layout.version === 2 ? join(dirs[0]!, 'memory.peak') : join(dirs[1]!, 'memory.max_usage_in_bytes'),
        ),
        pidsPeak: readNumber(join(dirs[0]!, 'pids.peak')),
      };
      // Killed processes stay members until reaped (by init, for orphans): remove the cgroup once they are.
      for (const d of dirs) if (!rmdirQuiet(d)) removeLater(d, 1);
      return peaks;
    },
  };
}

function removeLater(dir: string, attempt: number): void {
  if (attempt > 20) return; // left for the next evaluator's sweep (sweepStale)
  setTimeout(() => {
    if (!rmdirQuiet(dir)) removeLater(dir, attempt + 1);
  }, 50 * attempt).unref();
}

/** Removes empty cgroups left by evaluators that are gone (their pid is in the name). */
function sweepStale(parents: string[]): void {
  for (const parent of parents) {
    let names: string[];
    try {
      names = readdirSync(parent).filter((n) => /^loralab-eval-\d+-\d+$/.test(n));
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = Number(name.split('-')[2]);
      if (pid !== process.pid && !existsSync(`/proc/${pid}`)) rmdirQuiet(join(parent, name));
    }
  }
}

function members(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function readNumber(file: string): number | null {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

function writeOptional(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // not in this kernel or hierarchy
  }
}

function rmdirQuiet(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
