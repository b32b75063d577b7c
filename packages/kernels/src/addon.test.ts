import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registration, SKIP_NATIVE } from '../test/helpers.js';
import { detectCoreType, nativeEnvironment } from './addon.js';
import { resolveKernelsConfig } from './config.js';
import { NATIVE_KERNEL_NAMES, registerNativeBackend } from './register.js';
import { rmsNorm, rmsNormReference } from './rms-norm.js';

describe('detectCoreType', () => {
  it('picks SkylakeX with AVX-512, Haswell with AVX2 + FMA, else leaves it to OpenBLAS', () => {
    expect(detectCoreType('flags\t\t: fpu sse avx2 fma avx512f avx512bw avx512vl avx512dq\n')).toBe(
      'SkylakeX',
    );
    expect(detectCoreType('flags\t\t: fpu sse avx2 fma avx512f\n')).toBe('Haswell');
    expect(detectCoreType('flags\t\t: fpu sse sse2\n')).toBe('');
    expect(detectCoreType('processor : 0\n')).toBe('');
  });
});

describe('nativeEnvironment', () => {
  it('sets the passive wait policy and keeps what the user set', () => {
    const c = resolveKernelsConfig({ coreType: 'Haswell' }, {});
    expect(nativeEnvironment(c, {})).toEqual({
      OPENBLAS_CORETYPE: 'Haswell',
      OMP_WAIT_POLICY: 'passive',
      OPENBLAS_THREAD_TIMEOUT: '4',
    });
    expect(nativeEnvironment(c, { OPENBLAS_CORETYPE: 'Zen', OMP_WAIT_POLICY: 'active' })).toEqual({
      OPENBLAS_THREAD_TIMEOUT: '4',
    });
    const lib = resolveKernelsConfig({ coreType: 'library', threadWait: 'library' }, {});
    expect(nativeEnvironment(lib, {})).toEqual({});
  });
});

describe('selection and fallback', () => {
  const saved = process.env.LORALAB_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.LORALAB_KERNELS;
    else process.env.LORALAB_KERNELS = saved;
    vi.restoreAllMocks();
  });

  it('LORALAB_KERNELS=off registers nothing and says so in one line', () => {
    process.env.LORALAB_KERNELS = 'off';
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const r = registerNativeBackend({ backendName: 'loralab-native-off-test' });
    registerNativeBackend({ backendName: 'loralab-native-off-test' });
    expect(r.registered).toBe(false);
    expect(r.report.reason).toMatch(/LORALAB_KERNELS=off/);
    expect(tf.findBackendFactory('loralab-native-off-test')).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(
      /^@loralab\/kernels: native kernels unavailable .*using TensorFlow\.js/,
    );
  });

  it('fused ops fall back to their tfjs reference on other backends', async () => {
    await tf.setBackend('cpu');
    tf.tidy(() => {
      const x = tf.tensor2d([
        [1, 2, 3],
        [-1, 0.5, 2],
      ]);
      const w = tf.tensor1d([0.5, 1, 2]);
      expect(Array.from(rmsNorm(x, w, 1e-6).dataSync())).toEqual(
        Array.from(rmsNormReference(x, w, 1e-6).dataSync()),
      );
    });
  });

  it.skipIf(SKIP_NATIVE)('reports the OpenBLAS core type it actually got', () => {
    const { report } = registration;
    expect(report.available).toBe(true);
    expect(report.corename).toMatch(/\w+/);
    expect(report.blasConfig).toMatch(/^OpenBLAS/);
    if (report.requestedCoreType !== '') {
      expect(report.corename!.toLowerCase()).toBe(report.requestedCoreType.toLowerCase());
    }
  });
});

describe.skipIf(SKIP_NATIVE)('registration', () => {
  it('puts a native kernel, not the cpu one, behind every name in NATIVE_KERNEL_NAMES', () => {
    for (const name of NATIVE_KERNEL_NAMES) {
      const native = tf.getKernel(name, registration.backendName);
      expect(native, name).toBeDefined();
      expect(native!.kernelFunc, name).not.toBe(tf.getKernel(name, 'cpu')?.kernelFunc);
    }
  });
});
