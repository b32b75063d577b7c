// Hugging Face `datasets` loads a loralab dataset with load_from_disk (tools/reference/data-hf-load.py).
// Runs when LORALAB_HF_PYTHON (default python3) can import `datasets`; skipped otherwise.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readManifest } from '../src/manifest.js';
import { readShard } from '../src/shard-file.js';
import { writeTokenizedDataset } from '../src/write-dataset.js';
import { smallTokenizer, tmp } from './helpers.js';

const PYTHON = process.env.LORALAB_HF_PYTHON ?? 'python3';
const SCRIPT = join(import.meta.dirname, '../../../tools/reference/data-hf-load.py');
const hasDatasets = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import datasets'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function loralabRows(dir: string) {
  const m = await readManifest(dir);
  const out: { input_ids: number[][]; loss_mask: number[][] } = { input_ids: [], loss_mask: [] };
  for (const s of m.shards) {
    const d = await readShard(join(dir, s.file), s);
    for (let i = 0; i < d.rows; i++) {
      const [a, b] = [d.offsets[i]!, d.offsets[i + 1]!];
      out.input_ids.push(Array.from(d.values.subarray(a, b)));
      if (d.mask) out.loss_mask.push(Array.from(d.mask.subarray(a, b)));
    }
  }
  return out;
}

it.skipIf(!hasDatasets)(
  `Hugging Face datasets.load_from_disk reads text and chat datasets (needs ${PYTHON} with datasets; set LORALAB_HF_PYTHON)`,
  async () => {
    const tok = await smallTokenizer();
    const dir = await tmp();
    const text = join(dir, 'text');
    await writeTokenizedDataset(tok, {
      outDir: text,
      source: { kind: 'brown', categories: ['r'] },
      shardTokens: 20_000,
    });
    const chatFile = join(dir, 'chat.json');
    writeFileSync(
      chatFile,
      JSON.stringify([
        { instruction: 'Hi', output: 'Yo' },
        { instruction: 'Add 1 and 2', output: '3' },
      ]),
    );
    const chat = join(dir, 'chat');
    await writeTokenizedDataset(tok, {
      outDir: chat,
      source: { kind: 'json', paths: [chatFile] },
      kind: 'chat',
    });
    const load = (d: string) =>
      JSON.parse(execFileSync(PYTHON, [SCRIPT, d], { encoding: 'utf8', maxBuffer: 1 << 28 }));
    const t = load(text);
    expect(t.num_rows).toBe((await readManifest(text)).totals.rows);
    expect(t.arrow_types).toEqual({ input_ids: 'list<item: uint16>' });
    expect(t.features.input_ids).toMatch(/Value\('uint16'\)/);
    expect(t.rows.input_ids).toEqual((await loralabRows(text)).input_ids);
    const c = load(chat);
    expect(c.arrow_types).toEqual({ input_ids: 'list<item: uint16>', loss_mask: 'list<item: uint8>' });
    expect(c.rows).toEqual(await loralabRows(chat));
  },
);
