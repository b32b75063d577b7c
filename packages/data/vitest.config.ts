import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@loralab/source'] },
  ssr: { resolve: { conditions: ['@loralab/source'] } },
  // Generous timeouts: the tests are small, but CI machines are shared and some tests spawn python3 or node.
  test: {
    name: 'data',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
