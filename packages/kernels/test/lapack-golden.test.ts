// LAPACK through the addon against NumPy's golden singular values of @loralab/rank (tools/reference/rank-svd.py,
// numpy.linalg.svd → dgesdd; 15 matrices: uniform, tall, wide, float32-valued, graded to condition 1e10, Hilbert,
// rank-deficient), with the matrices rebuilt by rank's bit-exact generator. The same tolerance as rank's own SVD
// tests: |σ̂ − σ| ≤ 1e-5·σ for σ > 1e-13·σ₁, and ≤ 64·max(m, n)·ε·σ₁ for the numerically zero values.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generate, loadGolden } from '../../rank/test/matrix-generators.js';
import { ADDON_PATH } from '../src/addon.js';
import { createLapackSvd } from '../src/lapack-svd.js';

const BUILT = existsSync(ADDON_PATH) && (process.env.LORALAB_KERNELS ?? '').toLowerCase() !== 'off';

describe.skipIf(!BUILT)('LAPACK SVD against NumPy golden values', () => {
  it('matches every case of rank/test/fixtures/svd-golden.json', async () => {
    const lapack = createLapackSvd({ concurrency: 2, blasThreads: 1 })!;
    let worst = 0; // largest |σ̂ − σ| / σ₁, for the record
    try {
      for (const c of loadGolden()) {
        const a = generate(c);
        const { s } = await lapack.svd(a);
        expect(s.length).toBe(c.s.length);
        const s1 = c.s[0] ?? 0;
        for (let i = 0; i < c.s.length; i++) {
          const ref = c.s[i]!;
          const tol = ref > 1e-13 * s1 ? 1e-5 * ref : 64 * Math.max(c.rows, c.cols) * Number.EPSILON * s1;
          if (!(Math.abs(s[i]! - ref) <= tol))
            throw new Error(`${c.name}: s[${i}] = ${s[i]} differs from NumPy's ${ref} by more than ${tol}`);
          worst = Math.max(worst, Math.abs(s[i]! - ref) / s1);
        }
      }
    } finally {
      await lapack.close();
    }
    expect(worst).toBeLessThan(1e-12); // LAPACK against LAPACK: observed about 1e-15
  });
});
