// A writer killed with SIGKILL in the middle of a run resumes to the same bytes as an uninterrupted run.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { SourceConfig } from '../src/sources.js';
import { writeTokenizedDataset } from '../src/write-dataset.js';
import { smallTokenizer, tmp } from './helpers.js';

const SOURCE: SourceConfig = { kind: 'brown', categories: ['r'] };

function files(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => !f.startsWith('.'))
      .map((f) => [f, readFileSync(join(dir, f)).toString('base64')]),
  );
}

it('resumes after kill -9 to the same files as an uninterrupted run', async () => {
  const tok = await smallTokenizer();
  const tokDir = await tmp();
  await tok.save(tokDir);
  const killed = await tmp();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@loralab/source',
      join(import.meta.dirname, 'write-child.ts'),
      tokDir,
      killed,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let shards = 0;
  let finished = false;
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      shards += (d.toString().match(/^shard /gm) ?? []).length;
      if (d.toString().includes('done')) finished = true;
      if (shards >= 3 && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', () => resolve());
  });
  expect(finished).toBe(false);
  expect(shards).toBeGreaterThanOrEqual(3);
  const resumed = await writeTokenizedDataset(tok, { outDir: killed, source: SOURCE, shardTokens: 5_000 });
  expect(resumed.resumed).toBeGreaterThanOrEqual(3);
  const whole = await tmp();
  await writeTokenizedDataset(tok, { outDir: whole, source: SOURCE, shardTokens: 5_000 });
  expect(files(killed)).toEqual(files(whole));
});
