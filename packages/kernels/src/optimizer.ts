// AdamW (Loshchilov & Hutter 2019, arXiv 1711.05101) and Lion (Chen et al. 2023, arXiv 2302.06675) applied in place
// on the native backend: the parameters' own Float32Arrays and moment buffers are updated by one native loop each,
// with no temporary tensors. Semantics follow torch.optim.AdamW and the Lion paper's decoupled weight decay.
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';
import { NativeBackend } from './native-backend.js';

export interface AdamWConfig {
  /** Learning rate (default 1e-3; `step(grads, lr)` overrides it per step, for schedules). */
  lr: number;
  /** First-moment decay β₁ (default 0.9). */
  beta1: number;
  /** Second-moment decay β₂ (default 0.999). */
  beta2: number;
  /** Denominator epsilon (default 1e-8). */
  eps: number;
  /** Decoupled weight decay λ: p ← p·(1 − lr·λ) (default 0.01, as torch). */
  weightDecay: number;
}

export interface LionConfig {
  /** Learning rate (default 1e-4). */
  lr: number;
  /** Interpolation β₁ of the update direction (default 0.9). */
  beta1: number;
  /** Momentum decay β₂ (default 0.99). */
  beta2: number;
  /** Decoupled weight decay λ (default 0). */
  weightDecay: number;
}

export const DEFAULT_ADAMW_CONFIG: Readonly<AdamWConfig> = Object.freeze({
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
});
export const DEFAULT_LION_CONFIG: Readonly<LionConfig> = Object.freeze({
  lr: 1e-4,
  beta1: 0.9,
  beta2: 0.99,
  weightDecay: 0,
});

function resolve<T extends object>(name: string, defaults: T, config: Partial<T>): T {
  for (const key of Object.keys(config)) {
    if (!(key in defaults)) throw new ConfigError(`unknown ${name} key '${key}'`, key);
  }
  const c = { ...defaults, ...config };
  for (const [key, value] of Object.entries(c)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigError(`${name}.${key} must be a finite number >= 0, found ${String(value)}`, key);
    }
  }
  const betas = c as unknown as { beta1: number; beta2: number };
  if (betas.beta1 >= 1 || betas.beta2 >= 1) throw new ConfigError(`${name}: betas must be < 1`, 'beta1');
  return c;
}

export const resolveAdamWConfig = (c: Partial<AdamWConfig> = {}) =>
  resolve('AdamWConfig', DEFAULT_ADAMW_CONFIG, c);
export const resolveLionConfig = (c: Partial<LionConfig> = {}) =>
  resolve('LionConfig', DEFAULT_LION_CONFIG, c);

/** The native backend when it is the active one, else an error naming what to do. */
function activeNativeBackend(): NativeBackend {
  const backend = tf.backend();
  if (!(backend instanceof NativeBackend)) {
    throw new ConfigError(
      `in-place optimizers need the native backend active (tf.setBackend('loralab-native')), found '${tf.getBackend()}'`,
      'backend',
    );
  }
  return backend;
}

/** The parameter's own buffer, made exclusive first (copy-on-write) if another tensor shares it. */
function ownBuffer(backend: NativeBackend, v: tf.Variable): Float32Array {
  if (v.dtype !== 'float32')
    throw new ConfigError(`variable ${v.name} is ${v.dtype}, expected float32`, 'vars');
  if (backend.refCount(v.dataId) > 1) {
    const fresh = tf.tensor(Float32Array.from(v.dataSync()), v.shape, 'float32');
    v.assign(fresh);
    fresh.dispose();
  }
  return backend.data.get(v.dataId)!.values as Float32Array;
}

/** A gradient's values: zero-copy on the native backend, read back otherwise. */
function gradValues(backend: NativeBackend, g: tf.Tensor, v: tf.Variable): Float32Array {
  if (!tf.util.arraysEqual(g.shape, v.shape)) {
    throw new ConfigError(`gradient of ${v.name} has shape ${g.shape}, expected ${v.shape}`, 'grads');
  }
  const values = backend.data.get(g.dataId)?.values;
  return values instanceof Float32Array ? values : Float32Array.from(g.dataSync());
}

/** In-place AdamW over a fixed list of variables; moments are Float32Arrays owned by the optimizer. */
export class InPlaceAdamW {
  readonly config: AdamWConfig;
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  /** Steps taken (bias corrections use step + 1 on the next update). */
  step = 0;

  constructor(
    readonly vars: tf.Variable[],
    config: Partial<AdamWConfig> = {},
  ) {
    this.config = resolveAdamWConfig(config);
    this.m = vars.map((p) => new Float32Array(p.size));
    this.v = vars.map((p) => new Float32Array(p.size));
  }

  /** Applies one update with grads[i] for vars[i]; `lr` overrides the configured rate for this step. */
  update(grads: tf.Tensor[], lr = this.config.lr): void {
    if (grads.length !== this.vars.length) {
      throw new ConfigError(`expected ${this.vars.length} gradients, found ${grads.length}`, 'grads');
    }
    const backend = activeNativeBackend();
    this.step++;
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.vars.forEach((p, i) => {
      const values = ownBuffer(backend, p);
      const g = gradValues(backend, grads[i]!, p);
      backend.addon.adamw(
        values,
        this.m[i]!,
        this.v[i]!,
        g,
        p.size,
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        this.step,
      );
    });
  }
}

/** In-place Lion over a fixed list of variables; the momentum is a Float32Array owned by the optimizer. */
export class InPlaceLion {
  readonly config: LionConfig;
  readonly m: Float32Array[];

  constructor(
    readonly vars: tf.Variable[],
    config: Partial<LionConfig> = {},
  ) {
    this.config = resolveLionConfig(config);
    this.m = vars.map((p) => new Float32Array(p.size));
  }

  update(grads: tf.Tensor[], lr = this.config.lr): void {
    if (grads.length !== this.vars.length) {
      throw new ConfigError(`expected ${this.vars.length} gradients, found ${grads.length}`, 'grads');
    }
    const backend = activeNativeBackend();
    const { beta1, beta2, weightDecay } = this.config;
    this.vars.forEach((p, i) => {
      const values = ownBuffer(backend, p);
      const g = gradValues(backend, grads[i]!, p);
      backend.addon.lion(values, this.m[i]!, g, p.size, lr, beta1, beta2, weightDecay);
    });
  }
}
