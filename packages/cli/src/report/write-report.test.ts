import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAPER_LIKE, syntheticResults } from '../../test/synthetic-results.js';
import { ExperimentError } from '../experiment/errors.js';
import { writeReport } from './write-report.js';

/** Checks that `xml` is well-formed as far as elements go: every tag closes in order, attributes are quoted. */
function checkWellFormed(xml: string): void {
  const stack: string[] = [];
  const tag =
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|<[^>]*>/g;
  for (const m of xml.matchAll(tag)) {
    if (m[0].startsWith('<!')) continue;
    if (m[2] === undefined) throw new Error(`malformed tag ${m[0].slice(0, 80)}`);
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else stack.push(name!);
  }
  if (stack.length) throw new Error(`unclosed: ${stack.join(', ')}`);
  // Text must not hold a bare & or <.
  const text = xml.replace(tag, '');
  if (/&(?!amp;|lt;|gt;|quot;|#\d+;)/.test(text) || text.includes('<')) throw new Error('unescaped text');
}

function runDirWith(results: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'loralab-report-'));
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results));
  return dir;
}

describe('writeReport', () => {
  it('writes a self-contained HTML page with well-formed inline SVG plots, Markdown and the results', async () => {
    const dir = runDirWith(syntheticResults(PAPER_LIKE));
    const files = await writeReport(dir);
    expect(files).toEqual({
      html: join(dir, 'report.html'),
      md: join(dir, 'report.md'),
      json: join(dir, 'results.json'),
    });
    const html = readFileSync(files.html, 'utf8');
    // Offline: nothing to fetch, not a single URL (inline SVG needs no namespace declaration in HTML).
    expect(html).not.toMatch(/https?:|\/\/[a-z]|src=|href=|<script|<link|@import|url\(/i);
    const svgs = [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
    expect(svgs.length).toBe(5); // frontier, learning curves, training curves, rank, spectra (no sweep here)
    for (const svg of svgs) checkWellFormed(svg);
    checkWellFormed(html.replace(/<!DOCTYPE html>/, '').replace(/<meta charset="utf-8">/, ''));
    expect(html).toContain('Learning vs forgetting, IFT, math');
    expect(html).toContain('How to read this');
    for (const arm of PAPER_LIKE) expect(html).toContain(arm.name);
    expect(html).toContain('class="outcome reproduced"');

    const md = readFileSync(files.md, 'utf8');
    expect(md).toContain('](learn-vs-forget.svg)');
    checkWellFormed(readFileSync(join(dir, 'learn-vs-forget.svg'), 'utf8'));
    expect(md).toContain('| LoRA learns less');
    expect(md).toMatch(/### reproduced: LoRA forgets less/);
    expect(md).toContain('## Wall time per phase');
    expect(md).toContain('as a multiple of the LoRA ranks');
    expect(md).toContain('ift-lora-r16');
  });

  it('renders "not reproduced" verdicts and runs without rank or diversity data', async () => {
    const results = syntheticResults(
      PAPER_LIKE.map((a) => (a.method === 'lora' ? { ...a, targetLoss: 0.5 } : a)),
    );
    for (const u of results.units) u.rank = null;
    const html = readFileSync((await writeReport(runDirWith(results))).html, 'utf8');
    expect(html).toContain('class="outcome not-reproduced"');
    expect(html).toContain('nothing to plot in this run');
  });

  it('refuses a folder without results.json, or another JSON file', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'loralab-report-'));
    await expect(writeReport(empty)).rejects.toThrow(ExperimentError);
    await expect(writeReport(runDirWith({ format: 'other' }))).rejects.toThrow(
      /not an experiment results file/,
    );
  });
});
