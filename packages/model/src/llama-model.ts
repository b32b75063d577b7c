// The Llama decoder (Touvron et al. 2023) as Hugging Face `LlamaForCausalLM`: token embedding, N pre-norm blocks
// of GQA self-attention and SwiGLU MLP with RMSNorm and RoPE, a final norm and `lm_head` (tied or not).
// Parameters carry the Hugging Face checkpoint keys; linear weights are [out, in].
import * as tf from '@tensorflow/tfjs-core';
import { type AttentionProjections, attention } from './attention.js';
import { type LlamaConfig, resolveLlamaConfig } from './config.js';
import { ShapeError } from './errors.js';
import {
  buildAttentionMask,
  defaultPositionIds,
  type IdsInput,
  idsData,
  idsShape,
} from './forward-inputs.js';
import { residualAdd } from './fused.js';
import type { KVCache } from './kv-cache.js';
import { crossEntropySum, type LossResult, shiftLabels } from './loss.js';
import { type MlpProjections, mlp } from './mlp.js';
import { gatherRows } from './ops.js';
import { type ForwardContext, Linear, type Parameter, type Projection } from './projection.js';
import { rmsNorm } from './rms-norm.js';
import { ropeInverseFrequencies, ropeTables } from './rope.js';

/** Options of one forward pass. All (B, ·) arrays are row-major. */
export interface ForwardOptions {
  /** Position ids (B, T); default from `segmentIds`, else `attentionMask`, else cache length + t. */
  positionIds?: IdsInput;
  /** 1 for real tokens, 0 for padding, over the cached and current keys (B, past + T). */
  attentionMask?: IdsInput;
  /** Segment ids (B, T) of packed sequences: tokens attend only within their segment (block-causal mask). */
  segmentIds?: IdsInput;
  /** A KV cache to read and extend (incremental decoding). */
  cache?: KVCache;
  /** Training mode: dropout active (default false). */
  training?: boolean;
  /** Seed of this pass's dropout masks (default 0). */
  seed?: number;
}

/** Construction options. */
export interface CreateModelOptions {
  /** Seed of the initialiser (default 0): the same seed gives the same weights on every backend. */
  seed?: number;
  /** Skip random initialisation (weights are zeros, norms ones), e.g. before loading a checkpoint. */
  empty?: boolean;
}

const LAYER_PROJECTIONS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;

function flatIds(x: IdsInput | undefined): Int32Array | undefined {
  return x === undefined ? undefined : idsData(x);
}

export class LlamaForCausalLM {
  readonly config: LlamaConfig;
  private readonly params = new Map<string, Parameter>();
  private readonly projections = new Map<string, Projection>();
  private readonly invFreq: Float32Array;

  constructor(config: Partial<LlamaConfig> | LlamaConfig, options: CreateModelOptions = {}) {
    this.config = resolveLlamaConfig(config);
    this.invFreq = ropeInverseFrequencies(this.config);
    const c = this.config;
    const seed = options.seed ?? 0;
    let index = 0;
    // Hugging Face `_init_weights`: normal(0, initializer_range) for linear and embedding weights,
    // zeros for biases and the padding row, ones for RMSNorm.
    const add = (name: string, shape: number[], init: 'normal' | 'zeros' | 'ones'): Parameter => {
      const i = index++;
      const value = tf.tidy(() => {
        if (init === 'ones') return tf.ones(shape);
        if (init === 'zeros' || options.empty) return tf.zeros(shape);
        return tf.randomNormal(shape, 0, c.initializer_range, 'float32', seed * 100_003 + i + 1); // tfjs treats seed 0 as "unseeded"
      });
      const p: Parameter = {
        name,
        variable: tf.variable(value, true, `${name}#${Math.random().toString(36).slice(2)}`),
      };
      value.dispose();
      this.params.set(name, p);
      return p;
    };
    const embed = add('model.embed_tokens.weight', [c.vocab_size, c.hidden_size], 'normal');
    if (c.pad_token_id !== null && !options.empty) {
      const pad = c.pad_token_id;
      const zeroed = tf.tidy(() => {
        const mask = tf.tensor2d(
          Float32Array.from({ length: c.vocab_size }, (_, v) => (v === pad ? 0 : 1)),
          [c.vocab_size, 1],
        );
        return tf.mul(embed.variable, mask);
      });
      embed.variable.assign(zeroed);
      zeroed.dispose();
    }
    const linear = (module: string, out: number, inp: number, bias: boolean) => {
      const w = add(`${module}.weight`, [out, inp], 'normal');
      const b = bias ? add(`${module}.bias`, [out], 'zeros') : null;
      this.projections.set(module, new Linear(module, w, b));
    };
    const d = c.hidden_size;
    const hs = c.head_dim;
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      add(`${p}.input_layernorm.weight`, [d], 'ones');
      linear(`${p}.self_attn.q_proj`, c.num_attention_heads * hs, d, c.attention_bias);
      linear(`${p}.self_attn.k_proj`, c.num_key_value_heads * hs, d, c.attention_bias);
      linear(`${p}.self_attn.v_proj`, c.num_key_value_heads * hs, d, c.attention_bias);
      linear(`${p}.self_attn.o_proj`, d, c.num_attention_heads * hs, c.attention_bias);
      add(`${p}.post_attention_layernorm.weight`, [d], 'ones');
      linear(`${p}.mlp.gate_proj`, c.intermediate_size, d, c.mlp_bias);
      linear(`${p}.mlp.up_proj`, c.intermediate_size, d, c.mlp_bias);
      linear(`${p}.mlp.down_proj`, d, c.intermediate_size, c.mlp_bias);
    }
    add('model.norm.weight', [d], 'ones');
    if (c.tie_word_embeddings) this.projections.set('lm_head', new Linear('lm_head', embed));
    else linear('lm_head', c.vocab_size, d, false);
  }

  // ---- parameters and the projection seam -------------------------------------------------------------

  /** The model's own parameters by Hugging Face key (a tied `lm_head.weight` is not listed separately). */
  parameters(): Map<string, Parameter> {
    return new Map(this.params);
  }

  /** One parameter by key; throws if absent. */
  parameter(name: string): Parameter {
    const p = this.params.get(name);
    if (!p) throw new Error(`no parameter named '${name}' (see model.parameters().keys())`);
    return p;
  }

  /** Every trainable parameter: the model's own with `variable.trainable`, then those wrappers added. */
  trainableParameters(): Parameter[] {
    const out = [...this.params.values()].filter((p) => p.variable.trainable);
    for (const proj of this.projections.values()) {
      for (const p of proj.extraParameters?.() ?? []) if (p.variable.trainable) out.push(p);
    }
    return out;
  }

  /** Freezes or unfreezes the model's own parameters whose key passes `filter` (all when omitted). */
  setTrainable(trainable: boolean, filter: (name: string) => boolean = () => true): void {
    for (const p of this.params.values()) if (filter(p.name)) p.variable.trainable = trainable;
  }

  /** Module names of every projection, in forward order (`model.layers.0.self_attn.q_proj`, ..., `lm_head`). */
  projectionNames(): string[] {
    return [...this.projections.keys()];
  }

  /** The projection now installed under `name` (the base `Linear`, or whatever wraps it). */
  getProjection(name: string): Projection {
    const p = this.projections.get(name);
    if (!p) throw new Error(`no projection named '${name}'; known: ${this.projectionNames().join(', ')}`);
    return p;
  }

  /** Installs `projection` under `name` and returns the one it replaced (to restore it later). */
  setProjection(name: string, projection: Projection): Projection {
    const prev = this.getProjection(name);
    if (projection.inFeatures !== prev.inFeatures || projection.outFeatures !== prev.outFeatures) {
      throw new ShapeError(
        `${name}: replacement maps ${projection.inFeatures} -> ${projection.outFeatures}, expected ${prev.inFeatures} -> ${prev.outFeatures}`,
        name,
        [prev.inFeatures, prev.outFeatures],
        [projection.inFeatures, projection.outFeatures],
      );
    }
    this.projections.set(name, projection);
    return prev;
  }

  /** Replaces projection `name` by `wrap(current)`; returns the wrapper. */
  wrapProjection(name: string, wrap: (inner: Projection) => Projection): Projection {
    const wrapped = wrap(this.getProjection(name));
    this.setProjection(name, wrapped);
    return wrapped;
  }

  // ---- forward ------------------------------------------------------------------------------------------

  /** Final-norm hidden states (B·T, d) for input ids (B, T). */
  hiddenStates(inputIds: IdsInput, options: ForwardOptions = {}): tf.Tensor2D {
    const c = this.config;
    const [B, T] = idsShape(inputIds);
    const ids = idsData(inputIds);
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]!;
      if (!(v >= 0 && v < c.vocab_size)) {
        throw new ShapeError(
          `input id ${v} at flat index ${i} is outside [0, vocab_size=${c.vocab_size})`,
          'input_ids',
          [B, T],
          [B, T],
        );
      }
    }
    const past = options.cache?.length ?? 0;
    const mask = flatIds(options.attentionMask);
    const segments = flatIds(options.segmentIds);
    const positions = flatIds(options.positionIds) ?? defaultPositionIds(B, T, past, mask, segments);
    if (positions.length !== B * T) {
      throw new ShapeError(
        `position_ids have ${positions.length} values, expected ${B * T}`,
        'position_ids',
        [B, T],
        [positions.length],
      );
    }
    let seed = (options.seed ?? 0) * 7919 + 1; // never 0: tfjs treats seed 0 as "unseeded"
    const ctx: ForwardContext = { training: options.training ?? false, nextSeed: () => seed++ };
    const resid = c.residual_dropout;
    const dropout = (x: tf.Tensor2D) =>
      ctx.training && resid > 0 ? (tf.dropout(x, resid, undefined, ctx.nextSeed()) as tf.Tensor2D) : x;
    return tf.tidy(() => {
      const { cos, sin } = ropeTables(this.invFreq, positions, B, T);
      const scale = 1 / Math.sqrt(c.head_dim);
      const [qCos, qSin] = [tf.mul(cos, scale) as tf.Tensor4D, tf.mul(sin, scale) as tf.Tensor4D];
      const attnMask = buildAttentionMask(B, T, past, mask, segments);
      const embed = this.parameter('model.embed_tokens.weight').variable;
      let x = gatherRows(embed, tf.tensor1d(ids, 'int32'), embed.trainable) as tf.Tensor2D; // (B·T, d)
      for (let l = 0; l < c.num_hidden_layers; l++) {
        const p = `model.layers.${l}`;
        const proj = Object.fromEntries(
          LAYER_PROJECTIONS.map((n) => [n.split('.')[1]!, this.getProjection(`${p}.${n}`)]),
        ) as unknown as AttentionProjections & MlpProjections;
        const h = rmsNorm(x, this.norm(`${p}.input_layernorm.weight`), c.rms_norm_eps) as tf.Tensor2D;
        const a = attention(
          h,
          B,
          T,
          l,
          proj,
          c,
          { cos, sin, qCos, qSin, mask: attnMask, cache: options.cache },
          ctx,
        );
        x = residualAdd(x, dropout(a)) as tf.Tensor2D;
        const h2 = rmsNorm(
          x,
          this.norm(`${p}.post_attention_layernorm.weight`),
          c.rms_norm_eps,
        ) as tf.Tensor2D;
        x = residualAdd(x, dropout(mlp(h2, proj, ctx))) as tf.Tensor2D;
      }
      return rmsNorm(x, this.norm('model.norm.weight'), c.rms_norm_eps) as tf.Tensor2D;
    });
  }

  private norm(name: string): tf.Tensor1D {
    return this.parameter(name).variable as tf.Tensor as tf.Tensor1D;
  }

  /** Logits (B, T, V) for input ids (B, T). */
  forward(inputIds: IdsInput, options: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = idsShape(inputIds);
    return tf.tidy(() => {
      const h = this.hiddenStates(inputIds, options);
      const ctx: ForwardContext = { training: options.training ?? false, nextSeed: () => 0 };
      return tf.reshape(this.getProjection('lm_head').apply(h, ctx), [
        B,
        T,
        this.config.vocab_size,
      ]) as tf.Tensor3D;
    });
  }

  /**
   * Summed next-token loss against `labels` (B, T) (the input ids with IGNORE_INDEX where no loss is wanted;
   * shifted inside, as Hugging Face does) and the number of target tokens.
   */
  loss(inputIds: IdsInput, labels: IdsInput, options: ForwardOptions = {}): LossResult {
    const [B, T] = idsShape(inputIds);
    const lab = idsData(labels);
    const V = this.config.vocab_size;
    const { targets, weights, numTokens } = shiftLabels(lab, B, T, V);
    const loss = tf.tidy(() => {
      // Only positions 0..T-2 predict a label: drop the last position before the (B·T, V) lm_head product.
      const h = tf.reshape(this.hiddenStates(inputIds, options), [B, T, this.config.hidden_size]);
      const hs = tf.reshape(tf.slice(h, [0, 0, 0], [B, T - 1, -1]), [B * (T - 1), this.config.hidden_size]);
      const ctx: ForwardContext = { training: options.training ?? false, nextSeed: () => 0 };
      const logits = this.getProjection('lm_head').apply(hs as tf.Tensor2D, ctx); // (B·(T-1), V)
      return crossEntropySum(logits, targets, weights);
    });
    return { loss, numTokens };
  }

  /**
   * Loss and gradients of every trainable parameter (or of `parameters`), keyed by parameter name.
   * The caller owns the returned tensors.
   */
  lossAndGradients(
    inputIds: IdsInput,
    labels: IdsInput,
    options: ForwardOptions & { parameters?: Parameter[] } = {},
  ): { loss: tf.Scalar; numTokens: number; grads: Map<string, tf.Tensor> } {
    const params = options.parameters ?? this.trainableParameters();
    let numTokens = 0;
    const { value, grads } = tf.variableGrads(
      () => {
        const r = this.loss(inputIds, labels, { training: true, ...options });
        numTokens = r.numTokens;
        return r.loss;
      },
      params.map((p) => p.variable),
    );
    const byName = new Map<string, tf.Tensor>();
    for (const p of params) {
      const g = grads[p.variable.name];
      if (g) byName.set(p.name, g);
    }
    return { loss: value, numTokens, grads: byName };
  }

  /** Releases every weight (and nothing a wrapper owns). */
  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    this.params.clear();
    this.projections.clear();
  }
}
