import { describe, expect, it } from 'vitest';
import { uniformMatrix } from '../test/matrix-generators.js';
import { ShapeError } from './errors.js';
import { loraSvd } from './lora-svd.js';
import { matmul, matmulTransA } from './matrix.js';
import { qr } from './qr.js';
import { svd } from './svd.js';

describe('qr', () => {
  it('gives orthonormal Q and upper-triangular R with A = QR, also for a zero column', () => {
    const a = uniformMatrix(12, 5, 3);
    for (let i = 0; i < 12; i++) a.data[i * 5 + 2] = 0;
    const { q, r } = qr(a);
    const qa = matmul(q, r);
    for (let i = 0; i < a.data.length; i++) expect(qa.data[i]).toBeCloseTo(a.data[i]!, 13);
    const g = matmulTransA(q, q);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 5; j++) expect(g.data[i * 5 + j]).toBeCloseTo(i === j ? 1 : 0, 13);
    for (let i = 0; i < 5; i++) for (let j = 0; j < i; j++) expect(r.data[i * 5 + j]).toBe(0);
  });
});

describe('loraSvd (structured SVD of s·B·A)', () => {
  const out = 48;
  const inn = 36;
  const r = 4;
  const b = uniformMatrix(out, r, 1); // lora_B [out, r]
  const a = uniformMatrix(r, inn, 2); // lora_A [r, in]
  const scale = 2; // alpha / r

  it('matches the dense SVD of the product and rank(ΔW) ≤ r', () => {
    const dense = matmul(b, a);
    for (let i = 0; i < dense.data.length; i++) dense.data[i]! *= scale;
    const full = svd(dense).s;
    const structured = loraSvd(b, a, scale).s;
    expect(structured.length).toBe(r);
    for (let i = 0; i < r; i++) expect(Math.abs(structured[i]! - full[i]!) / full[i]!).toBeLessThan(1e-12);
    for (let i = r; i < full.length; i++) expect(full[i]!).toBeLessThan(1e-13 * full[0]!);
  });

  it('returns vectors that reconstruct ΔW', () => {
    const { s, u, vt } = loraSvd(b, a, scale, { vectors: true });
    const us = { rows: out, cols: r, data: u!.data.slice() };
    for (let i = 0; i < out; i++) for (let j = 0; j < r; j++) us.data[i * r + j]! *= s[j]!;
    const rec = matmul(us, vt!);
    const dense = matmul(b, a);
    for (let i = 0; i < dense.data.length; i++) expect(rec.data[i]).toBeCloseTo(scale * dense.data[i]!, 12);
    const g = matmulTransA(u!, u!);
    for (let i = 0; i < r; i++) expect(g.data[i * r + i]).toBeCloseTo(1, 13);
  });

  it('gives zeros for B = 0 (the LoRA initialisation) and rejects mismatched factors', () => {
    const zero = { rows: out, cols: r, data: new Float64Array(out * r) };
    expect(Array.from(loraSvd(zero, a, scale).s)).toEqual([0, 0, 0, 0]);
    expect(() => loraSvd(b, uniformMatrix(r + 1, inn, 3), scale)).toThrow(ShapeError);
  });

  it('falls back to the dense SVD when r ≥ min(out, in)', () => {
    const b2 = uniformMatrix(5, 6, 4);
    const a2 = uniformMatrix(6, 7, 5);
    expect(loraSvd(b2, a2, 1).s.length).toBe(5);
  });
});
