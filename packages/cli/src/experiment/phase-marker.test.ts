import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExperimentError } from './errors.js';
import { configHash, readMarker, runPhase } from './phase-marker.js';

describe('runPhase', () => {
  it('runs a phase once and skips it on the next run, returning the recorded value', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-phase-'));
    let calls = 0;
    const work = async () => ({ n: ++calls });
    const first = await runPhase(dir, 'arm:ift-full', 'h1', work);
    expect(first).toMatchObject({ value: { n: 1 }, skipped: false });
    expect(existsSync(join(dir, '.done', 'arm_ift-full.json'))).toBe(true);
    const second = await runPhase(dir, 'arm:ift-full', 'h1', work);
    expect(second).toMatchObject({ value: { n: 1 }, skipped: true });
    expect(second.seconds).toBe(first.seconds);
    expect(calls).toBe(1);
  });

  it('reruns a phase that failed (no marker is written)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-phase-'));
    await expect(runPhase(dir, 'base', 'h', async () => Promise.reject(new Error('killed')))).rejects.toThrow(
      'killed',
    );
    expect(readMarker(dir, 'base', 'h')).toBeNull();
    expect((await runPhase(dir, 'base', 'h', async () => 7)).skipped).toBe(false);
  });

  it('refuses a folder whose phase finished under another config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loralab-phase-'));
    await runPhase(dir, 'tokenizer', configHash({ vocab: 1 }), async () => 1);
    await expect(runPhase(dir, 'tokenizer', configHash({ vocab: 2 }), async () => 2)).rejects.toThrow(
      ExperimentError,
    );
  });

  it('hashes configs stably', () => {
    expect(configHash({ a: 1, b: [2] })).toBe(configHash({ a: 1, b: [2] }));
    expect(configHash({ a: 1 })).not.toBe(configHash({ a: 2 }));
  });
});
