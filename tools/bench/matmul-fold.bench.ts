// A batched matMul against one shared matrix, x (B, T, k) · W (k, n), on the native backend: one sgemm over the
// (B·T, k) rows ("folded") against B separate sgemm calls (W tiled to (B, k, n), which the kernel cannot fold),
// at decoding shapes (T = 1-16) and training shapes (T = 64-240). The kernel folds below 32 rows per entry.
//   npx tsx --conditions=@loralab/source tools/bench/matmul-fold.bench.ts

import { initBackend } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';

await initBackend('native');
console.log(`OPENBLAS_CORETYPE ${process.env.OPENBLAS_CORETYPE ?? '(unset)'}; best of 3 rounds of 20 calls`);
console.log('| B | T | k | n | folded ms | separate ms | separate / folded |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const shapes = [
  [64, 1, 256, 704],
  [64, 4, 256, 704],
  [64, 16, 256, 704],
  [64, 31, 256, 704],
  [16, 64, 256, 704],
  [8, 240, 256, 256],
  [8, 240, 256, 704],
  [64, 150, 256, 704],
];
for (const [B, T, k, n] of shapes as [number, number, number, number][]) {
  const x = tf.randomNormal([B, T, k]);
  const w = tf.randomNormal([k, n]);
  const tiled = tf.tile(tf.expandDims(w, 0), [B, 1, 1]);
  const time = (f: () => tf.Tensor) => {
    for (let i = 0; i < 3; i++) f().dispose();
    let best = Infinity;
    for (let round = 0; round < 3; round++) {
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) f().dispose();
      best = Math.min(best, (performance.now() - t0) / 20);
    }
    return best;
  };
  // A (B, T, k) · (k, n) product with T ≥ 32 is not folded by the kernel; reshaping to (B·T, k) folds it by hand.
  const folded = time(() => tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(x, [B * T, k]), w), [B, T, n])));
  const separate = time(() => tf.matMul(x, tiled));
  console.log(
    `| ${B} | ${T} | ${k} | ${n} | ${folded.toFixed(3)} | ${separate.toFixed(3)} | ${(separate / folded).toFixed(2)} |`,
  );
  tf.dispose([x, w, tiled]);
}
