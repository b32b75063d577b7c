import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['@loralab/source'] },
  ssr: { resolve: { conditions: ['@loralab/source'] } },
  test: { name: 'train', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
