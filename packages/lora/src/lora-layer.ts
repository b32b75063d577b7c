// LoraLinear: the maths of LoRA on one linear (PEFT: `LoraLayer` + `Linear` in peft/tuners/lora/layer.py). It
// wraps the model's base `Linear` through the projection seam and holds any number of named adapters:
//   y = W x + b + Σ_{active, unmerged a} variant_a(x)       standard: s_a · B_a A_a dropout_a(x)
// A (r, in), B (out, r); s = α / r or α / √r (rsLoRA). Merging writes W ← W_eff in place (float32) and unmerging
// takes it out again; `deltaWeight` is W_eff − W for the rank analysis.
import {
  CheckpointError,
  ConfigError,
  dropout,
  type ForwardContext,
  fusedLoraLinearAvailable,
  Linear,
  loraLinear,
  type Parameter,
  type Projection,
  ShapeError,
} from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';
import type { LoraInit } from './config.js';
import { dora } from './dora.js';
import { randomLoraWeights } from './init.js';
import { pissaInit, seededRandn } from './pissa.js';
import { loraScaling } from './scaling.js';
import { standardLora } from './standard-lora.js';
import type { BaseLinear, LoraAdapter } from './variant.js';

/** Everything `updateLayer` needs to add one adapter to one linear. */
export interface LoraLayerOptions {
  r: number;
  alpha: number;
  dropout: number;
  useRslora: boolean;
  useDora: boolean;
  init: LoraInit;
  /** Seed of the random draws of this adapter on this layer. */
  seed: number;
  /** Whether the new parameters are trainable. */
  trainable: boolean;
}

/** PEFT's parameter name, e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight`. */
export function peftParameterName(module: string, attr: string, adapter: string): string {
  return `base_model.model.${module}.${attr}.${adapter}.weight`;
}

function makeParameter(name: string, value: tf.Tensor, trainable: boolean): Parameter {
  return { name, variable: tf.variable(value, trainable, `${name}#${Math.random().toString(36).slice(2)}`) };
}

export class LoraLinear implements Projection {
  readonly name: string;
  readonly adapters = new Map<string, LoraAdapter>();
  /** Adapters that take part in the forward pass (PEFT: `active_adapters`). */
  activeAdapters: string[] = [];
  /** Adapters whose update is now merged into W, in merge order. */
  readonly mergedAdapters: string[] = [];
  /** When true the layer computes the base output only (PEFT: `disable_adapters`). */
  disabled = false;

  constructor(
    readonly base: Linear,
    /** True when W is shared with another module (a tied `lm_head`): merging or PiSSA would change both. */
    readonly tied = false,
  ) {
    this.name = base.name;
  }

  get inFeatures(): number {
    return this.base.inFeatures;
  }

  get outFeatures(): number {
    return this.base.outFeatures;
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  /** The base W (out, in) and b as the variants see them. */
  baseView(): BaseLinear {
    return {
      name: this.name,
      weight: this.base.weight.variable as tf.Tensor as tf.Tensor2D,
      bias: this.base.bias ? (this.base.bias.variable as tf.Tensor as tf.Tensor1D) : null,
    };
  }

  /**
   * Adds adapter `adapterName` (PEFT: `update_layer`): creates A and B per `options.init` (PiSSA also rewrites W to
   * its residual), then the variant's own parameters (DoRA's magnitude from the initialised weights).
   */
  updateLayer(adapterName: string, options: LoraLayerOptions): LoraAdapter {
    if (this.adapters.has(adapterName)) {
      throw new ConfigError(
        `${this.name}: adapter '${adapterName}' already exists`,
        'adapter_name',
        adapterName,
      );
    }
    if (this.merged) {
      throw new ConfigError(
        `${this.name}: unmerge before adding adapter '${adapterName}'`,
        'adapter_name',
        adapterName,
      );
    }
    const { r, alpha } = options;
    if (!Number.isInteger(r) || r <= 0)
      throw new ConfigError(`${this.name}: r must be a positive integer, found ${r}`, 'r', r);
    const scaling = loraScaling(alpha, r, options.useRslora);
    const out = this.outFeatures;
    const inp = this.inFeatures;
    let A: tf.Tensor2D;
    let B: tf.Tensor2D;
    if (options.init.kind === 'pissa') {
      if (this.tied) {
        throw new ConfigError(
          `${this.name}: PiSSA would rewrite a weight tied to another module; do not target a tied lm_head with PiSSA`,
          'init_lora_weights',
          'pissa',
        );
      }
      const w = this.base.weight.variable.dataSync() as Float32Array;
      const p = pissaInit(w, out, inp, r, scaling, options.init.niter, seededRandn(options.seed), this.name);
      A = tf.tensor2d(p.A, [r, inp]);
      B = tf.tensor2d(p.B, [out, r]);
      const residual = tf.tensor2d(p.residual, [out, inp]);
      this.base.weight.variable.assign(residual);
      residual.dispose();
    } else {
      ({ A, B } = randomLoraWeights(options.init, r, inp, out, options.seed));
    }
    const adapter: LoraAdapter = {
      name: adapterName,
      r,
      alpha,
      scaling,
      dropout: options.dropout,
      loraA: makeParameter(peftParameterName(this.name, 'lora_A', adapterName), A, options.trainable),
      loraB: makeParameter(peftParameterName(this.name, 'lora_B', adapterName), B, options.trainable),
      extra: new Map(),
      cache: new Map(),
      variant: options.useDora ? dora : standardLora,
    };
    tf.dispose([A, B]);
    adapter.variant.init(this.baseView(), adapter, options.trainable);
    this.adapters.set(adapterName, adapter);
    return adapter;
  }

  /** The adapter `name`; throws when absent. */
  adapter(name: string): LoraAdapter {
    const a = this.adapters.get(name);
    if (!a)
      throw new ConfigError(
        `${this.name}: no adapter named '${name}' (has ${[...this.adapters.keys()].join(', ') || 'none'})`,
        'adapter_name',
        name,
      );
    return a;
  }

  /** Every parameter of every adapter (A, B, then the variant's), for `Projection.extraParameters`. */
  adapterParameters(name?: string): Parameter[] {
    const out: Parameter[] = [];
    for (const a of this.adapters.values()) {
      if (name !== undefined && a.name !== name) continue;
      out.push(a.loraA, a.loraB, ...a.extra.values());
    }
    return out;
  }

  extraParameters(): Parameter[] {
    return this.adapterParameters();
  }

  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    if (x.shape[1] !== this.inFeatures) {
      throw new ShapeError(
        `${this.name}: input has ${x.shape[1]} features, expected ${this.inFeatures}`,
        this.name,
        [null, this.inFeatures],
        x.shape,
      );
    }
    if (this.disabled && this.merged) this.unmerge(); // PEFT: a disabled layer unmerges first
    if (this.disabled) return this.base.apply(x, ctx);
    const base = this.baseView();
    // Own tidy: the temporaries of each adapter term are freed here, whoever calls (the model's forward or a test).
    // A frozen, bias-free base and a standard adapter run as one fused op on the native backend
    // (y = x Wᵀ + s · (xd Aᵀ) Bᵀ with xd = dropout(x) or x; no full-size temporaries, no dW); the other adapters add
    // their terms after.
    const fusable = base.bias === null && !this.base.weight.variable.trainable && fusedLoraLinearAvailable();
    return tf.tidy(() => {
      let result: tf.Tensor2D | null = null; // (N, out)
      for (const name of this.activeAdapters) {
        const a = this.adapters.get(name);
        if (!a || this.mergedAdapters.includes(name)) continue;
        const dropped = ctx.training && a.dropout > 0 ? dropout(x, a.dropout, ctx.nextSeed()) : undefined;
        if (result === null && fusable && a.variant === standardLora) {
          result = loraLinear(
            x,
            base.weight,
            a.loraA.variable as tf.Tensor as tf.Tensor2D,
            a.loraB.variable as tf.Tensor as tf.Tensor2D,
            a.scaling,
            dropped === undefined ? {} : { xAdapter: dropped },
          );
          continue;
        }
        result ??= this.base.apply(x, ctx);
        result = a.variant.forward(base, a, x, dropped ?? x, result);
      }
      return result ?? this.base.apply(x, ctx);
    });
  }

  /** W_eff − W (out, in) of adapter `name` against the current, unmerged W: s·B·A, or DoRA's effective update. */
  deltaWeight(name: string): tf.Tensor2D {
    const a = this.adapter(name);
    if (this.mergedAdapters.length > 0) {
      throw new ConfigError(
        `${this.name}: deltaWeight needs the unmerged W; unmerge first`,
        'merged',
        this.mergedAdapters,
      );
    }
    return a.variant.deltaWeight(this.baseView(), a);
  }

  /**
   * Merges adapters (default: the active ones not yet merged) into W, in float32 (PEFT: `merge`). With `safeMerge`
   * the merged weight is checked for NaN/Inf before it is written.
   */
  merge(names: readonly string[] = this.activeAdapters, safeMerge = false): void {
    if (this.tied) {
      throw new ConfigError(
        `${this.name}: merging into a tied weight would change the tied embedding too`,
        'merge',
        this.name,
      );
    }
    for (const name of names) {
      if (this.mergedAdapters.includes(name)) continue;
      const a = this.adapter(name);
      const merged = a.variant.merge(this.baseView(), a);
      if (safeMerge) {
        const finite = tf.tidy(() => tf.all(tf.isFinite(merged)).dataSync()[0] === 1);
        if (!finite) {
          merged.dispose();
          a.cache.forEach((t) => void t.dispose());
          a.cache.clear();
          throw new CheckpointError(
            `${this.name}: merging adapter '${name}' gives NaN or Inf weights`,
            this.name,
            name,
          );
        }
      }
      this.base.weight.variable.assign(merged);
      merged.dispose();
      this.mergedAdapters.push(name);
    }
  }

  /** Takes every merged adapter out of W again, last merged first (PEFT: `unmerge`). */
  unmerge(): void {
    while (this.mergedAdapters.length > 0) {
      const name = this.mergedAdapters.pop()!;
      const a = this.adapter(name);
      const w = a.variant.unmerge(this.baseView(), a);
      this.base.weight.variable.assign(w);
      w.dispose();
    }
  }

  /** Makes only the adapters in `names` trainable (PEFT: `set_adapter`) and active. */
  setAdapter(names: readonly string[], trainable = true): void {
    for (const a of this.adapters.values()) {
      const on = names.includes(a.name) && trainable;
      for (const p of [a.loraA, a.loraB, ...a.extra.values()]) p.variable.trainable = on;
    }
    this.activeAdapters = names.filter((n) => this.adapters.has(n));
  }

  /** Removes adapter `name` and frees its tensors (it must not be merged). */
  deleteAdapter(name: string): void {
    const a = this.adapter(name);
    if (this.mergedAdapters.includes(name)) {
      throw new ConfigError(
        `${this.name}: unmerge adapter '${name}' before deleting it`,
        'adapter_name',
        name,
      );
    }
    disposeAdapter(a);
    this.adapters.delete(name);
    this.activeAdapters = this.activeAdapters.filter((n) => n !== name);
  }

  /** Frees every adapter's tensors (the base weight belongs to the model). */
  dispose(): void {
    for (const a of this.adapters.values()) disposeAdapter(a);
    this.adapters.clear();
    this.activeAdapters = [];
  }
}

function disposeAdapter(a: LoraAdapter): void {
  for (const p of [a.loraA, a.loraB, ...a.extra.values()]) p.variable.dispose();
  for (const t of a.cache.values()) t.dispose();
  a.cache.clear();
}

/** True when `p` is the model's base linear (what LoRA can wrap). */
export function isLinear(p: Projection): p is Linear {
  return p instanceof Linear;
}
