// AdamW (Loshchilov & Hutter 2019, torch.optim.AdamW semantics) and LionW (Chen et al. 2023, "Symbolic Discovery of
// Optimization Algorithms", with decoupled weight decay) over parameter groups (weight decay on/off, LoRA+ lr scale).
// Two implementations with one interface: tfjs ops (any backend) and @loralab/kernels' in-place native loops (used
// when the active backend is 'loralab-native'). State is exported as float32 arrays under torch's names
// (`exp_avg`, `exp_avg_sq`) so a checkpoint restores it exactly.
import { InPlaceAdamW, InPlaceLion } from '@loralab/kernels';
import type { Parameter, TensorToWrite } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from './errors.js';

/** Parameters that share a learning-rate scale and a weight decay. */
export interface ParamGroup {
  params: Parameter[];
  /** Multiplier of the scheduled lr (LoRA+: the ratio for lora_B, else 1). */
  lrScale: number;
  /** Decoupled weight decay λ of this group. */
  weightDecay: number;
}

/** Hyper-parameters shared by every group. */
export interface OptimizerHyper {
  name: 'adamw' | 'lion';
  beta1: number;
  beta2: number;
  /** AdamW only. */
  eps: number;
}

export interface Optimizer {
  readonly name: 'adamw' | 'lion';
  /** `native` (in-place kernels) or `tfjs`. */
  readonly implementation: 'native' | 'tfjs';
  /** Updates taken so far (AdamW's bias corrections use it). */
  readonly steps: number;
  /** One update with the final (normalised, clipped) gradients by parameter name; `lr` is the scheduled lr. */
  step(grads: Map<string, tf.Tensor>, lr: number): void;
  /** The moments by `<param>.exp_avg` / `<param>.exp_avg_sq`, read to host memory. */
  stateTensors(): Promise<Map<string, TensorToWrite>>;
  /** Restores moments (every key of `stateTensors`) and the update count. */
  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, steps: number): void;
  dispose(): void;
}

/** True when `name` contains one of `patterns` (plain substrings). */
export function matchesAny(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => name.includes(p));
}

/**
 * Splits parameters into groups by weight decay (none for names matching `noDecay`) and lr scale (`loraPlusRatio`
 * for `lora_B` matrices). Groups keep the parameters' order; empty groups are dropped.
 */
export function paramGroups(
  params: readonly Parameter[],
  options: { weightDecay: number; noDecay: readonly string[]; loraPlusRatio?: number | null },
): ParamGroup[] {
  const groups = new Map<string, ParamGroup>();
  for (const p of params) {
    const weightDecay = matchesAny(p.name, options.noDecay) ? 0 : options.weightDecay;
    const lrScale = options.loraPlusRatio && p.name.includes('.lora_B.') ? options.loraPlusRatio : 1;
    const key = `${weightDecay}|${lrScale}`;
    let g = groups.get(key);
    if (!g) {
      g = { params: [], lrScale, weightDecay };
      groups.set(key, g);
    }
    g.params.push(p);
  }
  return [...groups.values()];
}

function gradOf(grads: Map<string, tf.Tensor>, p: Parameter): tf.Tensor | null {
  const g = grads.get(p.name);
  if (g && !tf.util.arraysEqual(g.shape, p.variable.shape)) {
    throw new ConfigError(
      `gradient of ${p.name} has shape [${g.shape}], the parameter [${p.variable.shape}]`,
      'grads',
    );
  }
  return g ?? null;
}

function stateNames(name: 'adamw' | 'lion'): string[] {
  return name === 'adamw' ? ['exp_avg', 'exp_avg_sq'] : ['exp_avg'];
}

/** AdamW / LionW with tfjs ops: works on every backend. Moments are non-trainable variables. */
class TfjsOptimizer implements Optimizer {
  readonly implementation = 'tfjs';
  steps = 0;
  private readonly moments = new Map<string, tf.Variable[]>();

  constructor(
    private readonly hyper: OptimizerHyper,
    private readonly groups: ParamGroup[],
  ) {
    for (const g of groups) {
      for (const p of g.params) {
        this.moments.set(
          p.name,
          stateNames(hyper.name).map((s) => {
            const zeros = tf.zeros(p.variable.shape);
            const v = tf.variable(zeros, false, `${p.name}.${s}#${Math.random().toString(36).slice(2)}`);
            zeros.dispose(); // the variable holds its own reference to the data
            return v;
          }),
        );
      }
    }
  }

  get name() {
    return this.hyper.name;
  }

  step(grads: Map<string, tf.Tensor>, lr: number): void {
    this.steps++;
    const { beta1: b1, beta2: b2, eps } = this.hyper;
    const t = this.steps;
    for (const group of this.groups) {
      const a = lr * group.lrScale; // this group's lr
      const decay = 1 - a * group.weightDecay; // decoupled weight decay: p ← p·(1 − lr·λ)
      for (const p of group.params) {
        const g = gradOf(grads, p);
        if (!g) continue; // no gradient: no update (torch skips params whose .grad is None)
        const [m, v] = this.moments.get(p.name)!;
        tf.tidy(() => {
          if (this.hyper.name === 'adamw') {
            // m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
            // p ← p·(1 − aλ) − (a / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
            const m2 = tf.add(tf.mul(m!, b1), tf.mul(g, 1 - b1));
            const v2 = tf.add(tf.mul(v!, b2), tf.mul(tf.square(g), 1 - b2));
            const denom = tf.add(tf.div(tf.sqrt(v2), Math.sqrt(1 - b2 ** t)), eps);
            const upd = tf.mul(tf.div(m2, denom), a / (1 - b1 ** t));
            p.variable.assign(tf.sub(tf.mul(p.variable, decay), upd));
            m!.assign(m2);
            v!.assign(v2);
          } else {
            // c ← β₁m + (1−β₁)g;  p ← p·(1 − aλ) − a·sign(c);  m ← β₂m + (1−β₂)g
            const c = tf.add(tf.mul(m!, b1), tf.mul(g, 1 - b1));
            p.variable.assign(tf.sub(tf.mul(p.variable, decay), tf.mul(tf.sign(c), a)));
            m!.assign(tf.add(tf.mul(m!, b2), tf.mul(g, 1 - b2)));
          }
        });
      }
    }
  }

  async stateTensors(): Promise<Map<string, TensorToWrite>> {
    const out = new Map<string, TensorToWrite>();
    const names = stateNames(this.hyper.name);
    for (const [param, vars] of this.moments) {
      for (const [i, v] of vars.entries()) {
        out.set(`${param}.${names[i]}`, { shape: v.shape, data: (await v.data()) as Float32Array });
      }
    }
    return out;
  }

  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, steps: number): void {
    const names = stateNames(this.hyper.name);
    for (const [param, vars] of this.moments) {
      vars.forEach((v, i) => {
        const t = requireState(tensors, `${param}.${names[i]}`, v.shape);
        const value = tf.tensor(t.data, v.shape);
        v.assign(value);
        value.dispose();
      });
    }
    this.steps = steps;
  }

  dispose(): void {
    for (const vars of this.moments.values()) tf.dispose(vars);
    this.moments.clear();
  }
}

function requireState(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  key: string,
  shape: number[],
): { shape: number[]; data: Float32Array } {
  const t = tensors.get(key);
  if (!t || !tf.util.arraysEqual(t.shape, shape)) {
    throw new ConfigError(
      `optimizer state '${key}' is ${t ? `of shape [${t.shape}]` : 'missing'}, expected [${shape}] (the checkpoint belongs to another model or method)`,
      'resume',
      key,
    );
  }
  return t;
}

/** The in-place kernels of @loralab/kernels, one instance per group (each has its own lr scale and decay). */
class NativeOptimizer implements Optimizer {
  readonly implementation = 'native';
  steps = 0;
  private readonly parts: { group: ParamGroup; opt: InPlaceAdamW | InPlaceLion }[];

  constructor(
    private readonly hyper: OptimizerHyper,
    groups: ParamGroup[],
  ) {
    this.parts = groups.map((group) => {
      const vars = group.params.map((p) => p.variable);
      const { beta1, beta2, eps } = hyper;
      const opt =
        hyper.name === 'adamw'
          ? new InPlaceAdamW(vars, { beta1, beta2, eps, weightDecay: group.weightDecay })
          : new InPlaceLion(vars, { beta1, beta2, weightDecay: group.weightDecay });
      return { group, opt };
    });
  }

  get name() {
    return this.hyper.name;
  }

  step(grads: Map<string, tf.Tensor>, lr: number): void {
    this.steps++;
    for (const { group, opt } of this.parts) {
      // The kernels update every variable: a parameter without a gradient gets a zero one.
      const zeros: tf.Tensor[] = [];
      const list = group.params.map((p) => {
        const g = gradOf(grads, p);
        if (g) return g;
        const z = tf.zeros(p.variable.shape);
        zeros.push(z);
        return z;
      });
      if (opt instanceof InPlaceAdamW) opt.step = this.steps - 1; // keep the bias corrections in step
      opt.update(list, lr * group.lrScale);
      tf.dispose(zeros);
    }
  }

  async stateTensors(): Promise<Map<string, TensorToWrite>> {
    const out = new Map<string, TensorToWrite>();
    for (const { group, opt } of this.parts) {
      group.params.forEach((p, i) => {
        const shape = p.variable.shape;
        out.set(`${p.name}.exp_avg`, { shape, data: Float32Array.from(opt.m[i]!) });
        if (opt instanceof InPlaceAdamW)
          out.set(`${p.name}.exp_avg_sq`, { shape, data: Float32Array.from(opt.v[i]!) });
      });
    }
    return out;
  }

  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, steps: number): void {
    for (const { group, opt } of this.parts) {
      group.params.forEach((p, i) => {
        const shape = p.variable.shape;
        opt.m[i]!.set(requireState(tensors, `${p.name}.exp_avg`, shape).data);
        if (opt instanceof InPlaceAdamW)
          opt.v[i]!.set(requireState(tensors, `${p.name}.exp_avg_sq`, shape).data);
      });
      if (opt instanceof InPlaceAdamW) opt.step = steps;
    }
    this.steps = steps;
  }

  dispose(): void {}
}

/** The tfjs backend name of @loralab/kernels' native backend. */
export const NATIVE_BACKEND = 'loralab-native';

/**
 * An optimizer over `groups`: the in-place native one when the active backend is 'loralab-native' (or `native`
 * forces the choice), else the tfjs one.
 */
export function createOptimizer(
  hyper: OptimizerHyper,
  groups: ParamGroup[],
  options: { native?: boolean } = {},
): Optimizer {
  const native = options.native ?? tf.getBackend() === NATIVE_BACKEND;
  return native ? new NativeOptimizer(hyper, groups) : new TfjsOptimizer(hyper, groups);
}
