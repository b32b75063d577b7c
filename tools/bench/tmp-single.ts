import { Tokenizer } from '@loralab/tokenizer';
import { Tokenizer as Raw } from 'tokenizers';
import { brownDocuments } from '../corpus/brown.ts';
const lines: string[] = [];
for await (const d of brownDocuments()) { lines.push(...d.split(/(?<=\n)/)); if (lines.length > 20000) break; }
const tok = await Tokenizer.fromPretrained('runs/tokenizer');
const raw = Raw.fromFile('runs/tokenizer/tokenizer.json');
const plain = (tok as any).plain as Raw;
const opts = { addSpecialTokens: false };
async function t(name: string, f: (l: string) => Promise<unknown>) {
  const s = performance.now(); for (const l of lines) await f(l); console.log(name, (performance.now() - s).toFixed(0));
}
for (let r = 0; r < 3; r++) {
  await t('raw', async (l) => (await raw.encode(l, null, opts)).getIds());
  await t('plain', async (l) => (await plain.encode(l, null, opts)).getIds());
  await t('ours', async (l) => (await tok.encode(l, opts)).ids);
  await t('raw-direct-return', (l) => raw.encode(l, null, opts));
}
