import { describe, expect, it } from 'vitest';
import { DEFAULT_KERNELS_CONFIG, resolveKernelsConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('resolveKernelsConfig', () => {
  it('fills defaults', () => {
    expect(resolveKernelsConfig({}, {})).toEqual(DEFAULT_KERNELS_CONFIG);
  });
  it('lets LORALAB_KERNELS override the mode', () => {
    expect(resolveKernelsConfig({ mode: 'on' }, { LORALAB_KERNELS: 'off' }).mode).toBe('off');
    expect(resolveKernelsConfig({}, { LORALAB_KERNELS: ' ON ' }).mode).toBe('on');
    expect(() => resolveKernelsConfig({}, { LORALAB_KERNELS: 'maybe' })).toThrow(/LORALAB_KERNELS/);
  });
  it('rejects unknown keys and bad values', () => {
    expect(() => resolveKernelsConfig({ threads: 2 } as never, {})).toThrow(ConfigError);
    expect(() => resolveKernelsConfig({ blasThreads: -1 }, {})).toThrow(/blasThreads/);
    expect(() => resolveKernelsConfig({ backendName: 'cpu' }, {})).toThrow(/backendName/);
    expect(() => resolveKernelsConfig({ coreType: 'Sky lake' }, {})).toThrow(/coreType/);
  });
});
