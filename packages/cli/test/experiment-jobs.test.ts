// The job layer: the plan's units as separate local processes (the simulation of a Slurm array or a Kubernetes
// Indexed Job) merged into one report whose numbers equal the single-process run's; generated scheduler files;
// named refusals of incomplete, foreign and mixed-backend unit folders.
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentResults } from '../src/experiment/results.js';
import { run, tempDir } from './helpers.js';

const dir = tempDir('loralab-jobs-');
const sweep = new URL('./fixtures/tiny-sweep.yaml', import.meta.url).pathname;
const numbers = (r: ExperimentResults) =>
  r.units.map((u) => ({
    id: u.unit.id,
    evals: u.evals,
    curve: u.curve,
    items: u.items,
    rank: u.rank,
    backend: u.backend,
  }));
const read = (d: string) => JSON.parse(readFileSync(join(d, 'results.json'), 'utf8')) as ExperimentResults;

describe('experiment jobs', { timeout: 300_000 }, () => {
  const single = join(dir, 'single');
  const local = join(dir, 'local');

  it('runs 8 units as 3 local processes and merges them into the single-process numbers', async () => {
    const plan = await run(['experiment', 'plan', sweep]);
    expect(plan.code).toBe(0);
    expect(plan.stdout.trim().split('\n')).toHaveLength(8);
    const one = await run(['experiment', 'run', sweep, '--output', single, '-q']);
    expect(one.code, one.stderr).toBe(0);
    const many = await run(['experiment', 'jobs', sweep, '--local', '3', '--output', local, '-q']);
    expect(many.code, many.stderr).toBe(0);
    expect(many.stdout).toMatch(/^## Verdict/);
    const logs = [0, 1, 2].map((r) => readFileSync(join(local, 'logs', `local-${r}.log`), 'utf8'));
    // every rank ran its own share (units r, r+3, ...), and exactly one ran the shared phases
    expect(logs.map((l) => /rank (\d) of 3 \(from env\)/.exec(l)?.[1])).toEqual(['0', '1', '2']);
    expect(logs.filter((l) => l.includes('datasets: tokenizing')).length).toBe(1);
    const a = read(single);
    const b = read(local);
    expect(b.units).toHaveLength(8);
    expect(numbers(b)).toEqual(numbers(a));
    expect(b.base.metrics).toEqual(a.base.metrics);
    expect(b.base.conditions).toEqual(a.base.conditions);
    expect(readFileSync(join(local, 'report.md'), 'utf8')).toContain('## Learning-rate sweep');
    // The sweep runs each lr at the first seed with the validation loss only; the chosen lr's first-seed unit is that
    // run, reused with the full evaluation added, and the other seed trains at the chosen lr.
    for (const arm of ['full', 'lora']) {
      const sweepUnits = b.units.filter((u) => u.unit.arm.name === arm && u.unit.stage === 'sweep');
      expect(sweepUnits.map((u) => u.unit.seed)).toEqual([0, 0]);
      const final = (u: (typeof b.units)[number]) => u.evals[u.evals.length - 1]!.metrics;
      for (const u of sweepUnits) expect(final(u).target_score).toBeUndefined();
      const best = sweepUnits.reduce((x, y) => (final(y).val_loss! < final(x).val_loss! ? y : x));
      const chosen = b.units.filter((u) => u.unit.arm.name === arm && u.unit.stage === 'chosen');
      expect(chosen.map((u) => [u.unit.seed, u.unit.lr])).toEqual([
        [0, best.unit.lr],
        [1, best.unit.lr],
      ]);
      expect(chosen[0]!.curve).toEqual(best.curve);
      expect(final(chosen[0]!).val_loss).toBe(final(best).val_loss);
      expect(final(chosen[0]!).source_mc_acc).toBeDefined();
      expect(chosen[1]!.curve).not.toEqual(best.curve);
    }
  });

  it('refuses to merge an incomplete plan, a foreign unit folder, or units of another backend, by name', async () => {
    const broken = join(dir, 'broken');
    cpSync(local, broken, { recursive: true });
    const victim = 'lora--best--s1';
    rmSync(join(broken, 'units', victim, 'result.json'));
    const missing = await run(['experiment', 'merge', broken]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(
      `UnitMergeError: merge: ${join(broken, 'units')}: 1 of 8 units have not finished`,
    );
    expect(missing.stderr).toContain(victim);
    cpSync(join(local, 'units', victim), join(broken, 'units', victim), { recursive: true });
    cpSync(join(local, 'units', victim), join(broken, 'units', 'stray--lr1e-3--s0'), { recursive: true });
    const stray = await run(['experiment', 'merge', broken]);
    expect(stray.stderr).toContain('unit folders not in this config');
    rmSync(join(broken, 'units', 'stray--lr1e-3--s0'), { recursive: true });
    const file = join(broken, 'units', victim, 'result.json');
    const r = JSON.parse(readFileSync(file, 'utf8'));
    r.result.backend = 'native';
    writeFileSync(file, JSON.stringify(r));
    const mixed = await run(['experiment', 'merge', broken]);
    expect(mixed.stderr).toMatch(/BackendMismatchError: .*done on the wasm backend, and this is native/);
    // resuming the folder on another backend is refused before any work
    const resumed = await run(['experiment', 'run-unit', broken, '--index', '0', '--backend', 'cpu']);
    expect(resumed.stderr).toMatch(/BackendMismatchError: .*wasm backend, and this is cpu/);
  });

  it('writes a Slurm array script and a Kubernetes Indexed Job for the plan', async () => {
    const out = join(dir, 'sched');
    const s = await run(['experiment', 'jobs', sweep, '--slurm', '--tasks', '4', '--output', out]);
    expect(s.code, s.stderr).toBe(0);
    const sbatch = readFileSync(join(out, 'experiment.sbatch'), 'utf8');
    expect(sbatch).toContain('#SBATCH --array=0-3');
    expect(sbatch).toContain(`loralab experiment run-unit '${out}'`);
    const k = await run(['experiment', 'jobs', sweep, '--k8s', '--output', out]);
    expect(k.code, k.stderr).toBe(0);
    const yaml = readFileSync(join(out, 'experiment-job.yaml'), 'utf8');
    expect(yaml).toContain('completionMode: Indexed');
    expect(yaml).toContain('completions: 8');
    expect(yaml).toMatch(/name: LORALAB_WORLD_SIZE\n\s+value: "8"/);
    expect(existsSync(join(out, 'config.json'))).toBe(true);
    // a run-unit task under Slurm variables takes its share by the shared rank resolution
    const bad = await run(['experiment', 'run-unit', out, '--index', '99']);
    expect(bad.stderr).toContain('no unit 99: the plan has 8 units');
  });
});
