import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@loralab/source'] },
  ssr: { resolve: { conditions: ['@loralab/source'] } },
  test: {
    name: 'model',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // every pooled output of the native kernels starts as NaN, so a kernel that leaves an element unwritten fails
    env: { LORALAB_POOL_POISON: '1' },
  },
});
