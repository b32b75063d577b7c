import { defineConfig } from 'vitest/config';

// One vitest run over every package. `@loralab/source` makes workspace imports resolve to
// each package's `src/` (see the `exports` maps), so tests never need a prior build.
export default defineConfig({
  resolve: { conditions: ['@loralab/source'] },
  ssr: { resolve: { conditions: ['@loralab/source'] } },
  test: {
    projects: ['packages/*'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
