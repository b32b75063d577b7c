// `experiment run` and `report` through the command line, on an experiment config of test size.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verdictSection } from '../src/commands/experiment-run.js';
import { run, tempDir } from './helpers.js';

const dir = tempDir();
const tiny = new URL('./fixtures/tiny-experiment.yaml', import.meta.url).pathname;

describe('experiment run and report', { timeout: 60_000 }, () => {
  const out = join(dir, 'run');

  it('runs every phase, writes the report and prints the verdict; a rerun skips finished phases', async () => {
    const r = await run(['experiment', 'run', tiny, '--output', out]);
    expect(r.code).toBe(0);
    for (const f of ['report.html', 'report.md', 'results.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(r.stdout).toMatch(/^## Verdict\n/);
    expect(r.stdout).toContain('| finding | outcome |');
    expect(r.stdout).toContain(`report: ${join(out, 'report.html')}`);
    expect(r.stderr).toMatch(/experiment: .* in all\n {2}pretrain/);
    // progress: unit k of n, one ETA for the whole run, and the evaluation phases visible
    expect(r.stderr).toContain(
      '[unit 1/2] ift-full--lr3e-4--s0: full on ift math, lr 0.0003, seed 0; ETA after the first unit',
    );
    expect(r.stderr).toMatch(
      /\[unit 2\/2\] ift-lora-r2--lr3e-3--s0: lora r=2 on ift math, lr 0\.003, seed 0; about \d+:\d\d left in all/,
    );
    expect(r.stderr).toContain('base: evaluating the ift-math target');
    const again = await run(['experiment', 'run', tiny, '--output', out, '-q']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(
      'already finished, skipped: tokenizer, datasets, base, unit:ift-full--lr3e-4--s0, unit:ift-lora-r2--lr3e-3--s0',
    );
    // --set reaches list elements of the resolved config: the changed config is refused before any work
    const changed = await run(['experiment', 'run', tiny, '--output', out, '--set', 'arms.1.r=3', '-q']);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(
      /^loralab: ExperimentError: experiment: .*config\.json: this folder holds a run of another config/m,
    );
  });

  it('report rewrites report.html and report.md from results.json alone', async () => {
    rmSync(join(out, 'report.html'));
    const r = await run(['report', out]);
    expect(r.code).toBe(0);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(r.stdout).toBe(
      `${verdictSection(readFileSync(join(out, 'report.md'), 'utf8'))}\n\nreport: ${join(out, 'report.html')}\n        ${join(out, 'report.md')}\n        ${join(out, 'results.json')}\n`,
    );
    const none = await run(['report', dir]);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('no results.json: not an experiment run folder');
  });

  it('refuses unknown config keys with their path before any work (exit 3)', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'finetune:\n  iftStep: 3\n');
    const r = await run(['experiment', 'run', bad, '--output', join(dir, 'never')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^loralab: ConfigError: config "finetune.iftStep": unknown key/);
    const set = await run([
      'experiment',
      'run',
      '--quick',
      '--set',
      'eval.codeTask=1',
      '--output',
      join(dir, 'never'),
    ]);
    expect(set.code).toBe(3);
    expect(set.stderr).toContain('config "eval.codeTask": unknown key');
    expect(existsSync(join(dir, 'never'))).toBe(false);
    const list = await run([
      'experiment',
      'run',
      tiny,
      '--set',
      'arms.5.r=8',
      '--output',
      join(dir, 'never'),
    ]);
    expect(list.code).toBe(3);
    expect(list.stderr).toContain('config "arms.5": no such list element (the list has 2)');
    const both = await run(['experiment', 'run', tiny, '-c', tiny]);
    expect(both.code).toBe(2);
  });

  it('an interrupted run exits 130 and the rerun resumes', async () => {
    const controller = new AbortController();
    controller.abort(new DOMException('interrupted by SIGINT', 'AbortError'));
    const out2 = join(dir, 'interrupted');
    const r = await run(['experiment', 'run', tiny, '--output', out2], { signal: controller.signal });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('loralab: interrupted');
    expect(existsSync(join(out2, 'results.json'))).toBe(false);
    const again = await run(['experiment', 'run', tiny, '--output', out2, '-q']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already finished, skipped: tokenizer');
  });
});
