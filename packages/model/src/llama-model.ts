// The Llama decoder (Touvron et al. 2023) as Hugging Face `LlamaForCausalLM`: token embedding, N pre-norm blocks
// of GQA self-attention and SwiGLU MLP with RMSNorm and RoPE, a final norm and `lm_head` (tied or not).
// Parameters carry the Hugging Face checkpoint keys; linear weights are [out, in].
import { nativeBackendActive } from '@loralab/kernels';
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
import { crossEntropySum, type LossResult, linearCrossEntropySum, shiftLabels } from './loss.js';
import { type MlpProjections, mlp } from './mlp.js';
import { dropout, gatherRows } from './ops.js';
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
  /** `forward` only: the logits of each row's last position, (B, 1, V), as generation needs them. */
  lastPositionOnly?: boolean;
}

/** Construction options. */
export interface CreateModelOptions {
  /** Seed of the initialiser (default 0): the same seed gives the same weights on every backend. */
  seed?: number;
  /** Skip random initialisation (weights are zeros, norms ones), e.g. before loading a checkpoint. */
  empty?: boolean;
}

/** Inputs shared by every layer of one forward pass. */
interface Prepared {
  B: number;
  T: number;
  tensors: {
    ids: tf.Tensor1D;
    cos: tf.Tensor4D;
    sin: tf.Tensor4D;
    qCos: tf.Tensor4D;
    qSin: tf.Tensor4D;
    /** null when `fusedCausal` or the cache is in place. */
    mask: tf.Tensor4D | null;
    /**
     * 1 for a real token, 0 for padding, when the attention mask has padding: (B, T) when `fusedCausal`, (B, past + T)
     * with an in-place cache; else null.
     */
    keyMask: tf.Tensor2D | null;
  };
  /** Attention runs the fused causal kernel (see attention.ts). */
  fusedCausal: boolean;
  training: boolean;
  seed: number;
  cache: KVCache | undefined;
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

/**
 * Whether the fused causal kernel computes exactly what the tfjs path does: no cached keys, no packing (one segment
 * per row), and every row's first token real, so every query sees at least one real key. Padding after that (right
 * padding, or holes) goes to the kernel's key mask. A row starting with padding (left padding) has query rows that see
 * no real key: the kernel gives them zeros, the tfjs path's finite mask an average over the padding keys, and a shifted
 * label can read those rows' logits, so such batches keep the tfjs path.
 */
function fusableCausal(
  B: number,
  T: number,
  past: number,
  mask?: Int32Array,
  segments?: Int32Array,
): boolean {
  if (past > 0) return false;
  if (mask) {
    for (let b = 0; b < B; b++) if (T > 0 && mask[b * T] === 0) return false;
  }
  if (segments) {
    for (let b = 0; b < B; b++) {
      for (let t = 1; t < T; t++) if (segments[b * T + t] !== segments[b * T]) return false;
    }
  }
  return true;
}

function disposePrepared(prep: Prepared): void {
  for (const t of Object.values(prep.tensors)) t?.dispose();
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

  /** Checks the inputs and builds what every layer shares. The caller disposes `tensors`. */
  private prepare(inputIds: IdsInput, options: ForwardOptions): Prepared {
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
    const training = options.training ?? false;
    // An in-place cache (native decoding) takes the key mask over every cached and current key, no additive mask.
    const inPlace = options.cache?.inPlace === true;
    if (inPlace) {
      if (segments)
        throw new ShapeError('segment_ids cannot be combined with a KV cache', 'segment_ids', [B, T], []);
      if (mask && mask.length !== B * (past + T))
        throw new ShapeError(
          `attention_mask has ${mask.length} values, expected ${B * (past + T)} (B, past + T)`,
          'attention_mask',
          [B, past + T],
          [mask.length],
        );
    }
    const fusedCausal =
      !inPlace &&
      nativeBackendActive() &&
      fusableCausal(B, T, past, mask, segments) &&
      !(training && c.attention_dropout > 0);
    const made = tf.tidy(() => {
      const { cos, sin } = ropeTables(this.invFreq, positions, B, T);
      const scale = 1 / Math.sqrt(c.head_dim);
      return {
        ids: tf.tensor1d(ids, 'int32'),
        cos,
        sin,
        qCos: tf.mul(cos, scale) as tf.Tensor4D,
        qSin: tf.mul(sin, scale) as tf.Tensor4D,
      };
    });
    let built: tf.Tensor4D | null = null;
    try {
      built = fusedCausal || inPlace ? null : buildAttentionMask(B, T, past, mask, segments);
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
    // Padding on the fused path (never before a row's first token, see fusableCausal): the kernel's key mask.
    const keyMask =
      (fusedCausal || inPlace) && mask?.some((m) => m === 0)
        ? tf.tensor2d(
            Float32Array.from(mask, (m) => (m === 0 ? 0 : 1)),
            [B, mask.length / B],
          )
        : null;
    const tensors = { ...made, mask: built, keyMask };
    return {
      B,
      T,
      tensors,
      fusedCausal,
      training,
      seed: options.seed ?? 0,
      cache: options.cache,
    };
  }

  /**
   * The forward context of layer `layer` (the head is layer `num_hidden_layers`): each layer draws its dropout
   * seeds from its own range, so recomputing one layer (gradient checkpointing) redraws the same masks.
   */
  private context(prep: Prepared, layer: number): ForwardContext {
    let next = (prep.seed * 7919 + 1) * 1_000_003 + (layer + 1) * 10_007; // never 0: tfjs treats 0 as unseeded
    return { training: prep.training, nextSeed: () => next++ };
  }

  /** Token embeddings (B·T, d). */
  private embed(prep: Prepared): tf.Tensor2D {
    const embed = this.parameter('model.embed_tokens.weight').variable;
    return gatherRows(embed, prep.tensors.ids, embed.trainable) as tf.Tensor2D;
  }

  /** Decoder block `l`: x (B·T, d) -> (B·T, d), pre-norm attention then pre-norm SwiGLU MLP, residual adds. */
  private block(l: number, x: tf.Tensor2D, prep: Prepared): tf.Tensor2D {
    const c = this.config;
    const ctx = this.context(prep, l);
    const resid = c.residual_dropout;
    const residDropout = (y: tf.Tensor2D) =>
      ctx.training && resid > 0 ? dropout(y, resid, ctx.nextSeed()) : y;
    return tf.tidy(() => {
      const p = `model.layers.${l}`;
      const proj = Object.fromEntries(
        LAYER_PROJECTIONS.map((n) => [n.split('.')[1]!, this.getProjection(`${p}.${n}`)]),
      ) as unknown as AttentionProjections & MlpProjections;
      const h = rmsNorm(x, this.norm(`${p}.input_layernorm.weight`), c.rms_norm_eps) as tf.Tensor2D;
      const inputs = { ...prep.tensors, fusedCausal: prep.fusedCausal, cache: prep.cache };
      const a = attention(h, prep.B, prep.T, l, proj, c, inputs, ctx);
      const x1 = residualAdd(x, residDropout(a)) as tf.Tensor2D;
      const h2 = rmsNorm(
        x1,
        this.norm(`${p}.post_attention_layernorm.weight`),
        c.rms_norm_eps,
      ) as tf.Tensor2D;
      return residualAdd(x1, residDropout(mlp(h2, proj, ctx))) as tf.Tensor2D;
    });
  }

  /**
   * Final norm and lm_head on the positions that predict a label, then the summed cross-entropy. A plain lm_head
   * (not wrapped, no bias) on the native backend goes through the fused, chunked head + loss; `gradInForward` when
   * the loss is differentiated right away.
   */
  private headLoss(
    x: tf.Tensor2D,
    prep: Prepared,
    targets: Int32Array,
    weights: Float32Array,
    gradInForward = false,
  ): tf.Scalar {
    const { B, T } = prep;
    const d = this.config.hidden_size;
    return tf.tidy(() => {
      const h = rmsNorm(x, this.norm('model.norm.weight'), this.config.rms_norm_eps);
      // Only positions 0..T-2 predict a label: drop the last position before the (·, V) lm_head product.
      const hs = tf.reshape(tf.slice(tf.reshape(h, [B, T, d]), [0, 0, 0], [B, T - 1, d]), [
        B * (T - 1),
        d,
      ]) as tf.Tensor2D;
      const head = this.getProjection('lm_head');
      const fused =
        head instanceof Linear && head.bias === null
          ? linearCrossEntropySum(hs, head.weight.variable, targets, weights, gradInForward)
          : null;
      return (
        fused ??
        crossEntropySum(head.apply(hs, this.context(prep, this.config.num_hidden_layers)), targets, weights)
      );
    });
  }

  /** Final-norm hidden states (B·T, d) for input ids (B, T). */
  hiddenStates(inputIds: IdsInput, options: ForwardOptions = {}): tf.Tensor2D {
    const prep = this.prepare(inputIds, options);
    try {
      return tf.tidy(() => {
        let x = this.embed(prep);
        for (let l = 0; l < this.config.num_hidden_layers; l++) x = this.block(l, x, prep);
        return rmsNorm(x, this.norm('model.norm.weight'), this.config.rms_norm_eps) as tf.Tensor2D;
      });
    } finally {
      disposePrepared(prep);
    }
  }

  private norm(name: string): tf.Tensor1D {
    return this.parameter(name).variable as tf.Tensor as tf.Tensor1D;
  }

  /** Logits (B, T, V) for input ids (B, T). */
  forward(inputIds: IdsInput, options: ForwardOptions = {}): tf.Tensor3D {
    const [B, T] = idsShape(inputIds);
    return tf.tidy(() => {
      let h = this.hiddenStates(inputIds, options);
      const ctx: ForwardContext = { training: options.training ?? false, nextSeed: () => 1 };
      const rows = options.lastPositionOnly ? 1 : T;
      if (options.lastPositionOnly) {
        const d = this.config.hidden_size;
        h = tf.reshape(tf.slice(tf.reshape(h, [B, T, d]), [0, T - 1, 0], [B, 1, d]), [B, d]) as tf.Tensor2D;
      }
      return tf.reshape(this.getProjection('lm_head').apply(h, ctx), [
        B,
        rows,
        this.config.vocab_size,
      ]) as tf.Tensor3D;
    });
  }

  /**
   * Logits (R, V) at chosen positions only: `at` lists flat positions b·T + t of input ids (B, T). The layers run
   * over every position; the (·, V) lm_head product, the largest of a small model, runs only on the R rows (what
   * scoring continuations needs).
   */
  logitsAt(inputIds: IdsInput, at: readonly number[], options: ForwardOptions = {}): tf.Tensor2D {
    const [B, T] = idsShape(inputIds);
    for (const [i, n] of at.entries()) {
      if (!Number.isInteger(n) || n < 0 || n >= B * T) {
        throw new ShapeError(
          `logitsAt: position ${i} is ${n}, outside the ${B * T} positions of the (${B}, ${T}) input`,
          'logitsAt',
          [B * T],
          [n],
        );
      }
    }
    return tf.tidy(() => {
      const h = tf.gather(this.hiddenStates(inputIds, options), tf.tensor1d(Int32Array.from(at), 'int32'));
      const ctx: ForwardContext = { training: options.training ?? false, nextSeed: () => 1 };
      return this.getProjection('lm_head').apply(h as tf.Tensor2D, ctx) as tf.Tensor2D;
    });
  }

  /**
   * Summed next-token loss against `labels` (B, T) (the input ids with IGNORE_INDEX where no loss is wanted;
   * shifted inside, as Hugging Face does) and the number of target tokens.
   */
  loss(inputIds: IdsInput, labels: IdsInput, options: ForwardOptions = {}): LossResult {
    return this.summedLoss(inputIds, labels, options, false);
  }

  private summedLoss(
    inputIds: IdsInput,
    labels: IdsInput,
    options: ForwardOptions,
    gradInForward: boolean,
  ): LossResult {
    const prep = this.prepare(inputIds, options);
    const { targets, weights, numTokens } = shiftLabels(
      idsData(labels),
      prep.B,
      prep.T,
      this.config.vocab_size,
    );
    try {
      const loss = tf.tidy(() => {
        let x = this.embed(prep);
        for (let l = 0; l < this.config.num_hidden_layers; l++) x = this.block(l, x, prep);
        return this.headLoss(x, prep, targets, weights, gradInForward);
      });
      return { loss, numTokens };
    } finally {
      disposePrepared(prep);
    }
  }

  /** Which part of the forward a parameter belongs to: a layer index, 'embed' or 'head'. */
  private partOf(name: string): number | 'embed' | 'head' {
    const m = /^(?:.*\.)?model\.layers\.(\d+)\./.exec(name);
    if (m) return Number(m[1]);
    if (name === 'model.embed_tokens.weight') return 'embed';
    return 'head';
  }

  /**
   * Loss and gradients of every trainable parameter (or of `parameters`), keyed by parameter name, in training
   * mode. With `checkpoint` (default true) the forward keeps only each block's input and every block is recomputed
   * during its backward pass (Chen et al. 2016): about one more forward of compute, but activation memory of one
   * block instead of all (tfjs holds every saved tensor and every intermediate gradient until backprop ends).
   * The caller owns the returned tensors.
   */
  lossAndGradients(
    inputIds: IdsInput,
    labels: IdsInput,
    options: ForwardOptions & { parameters?: Parameter[]; checkpoint?: boolean } = {},
  ): { loss: tf.Scalar; numTokens: number; grads: Map<string, tf.Tensor> } {
    const params = options.parameters ?? this.trainableParameters();
    const opts: ForwardOptions = { training: true, ...options };
    if (options.checkpoint === false || opts.cache) {
      let numTokens = 0;
      const { value, grads } = tf.variableGrads(
        () => {
          const r = this.summedLoss(inputIds, labels, opts, true);
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
    return this.checkpointedGradients(inputIds, labels, opts, params);
  }

  private checkpointedGradients(
    inputIds: IdsInput,
    labels: IdsInput,
    options: ForwardOptions,
    params: Parameter[],
  ): { loss: tf.Scalar; numTokens: number; grads: Map<string, tf.Tensor> } {
    const L = this.config.num_hidden_layers;
    const prep = this.prepare(inputIds, options);
    const { targets, weights, numTokens } = shiftLabels(
      idsData(labels),
      prep.B,
      prep.T,
      this.config.vocab_size,
    );
    const parts = new Map<number | 'embed' | 'head', Parameter[]>();
    for (const p of params) parts.set(this.partOf(p.name), [...(parts.get(this.partOf(p.name)) ?? []), p]);
    const grads = new Map<string, tf.Tensor>();
    const addGrad = (name: string, g: tf.Tensor) => {
      const prev = grads.get(name);
      grads.set(name, prev ? tf.add(prev, g) : g);
      if (prev) tf.dispose([prev, g]);
    };
    const engine = tf.engine();
    const inputs: tf.Tensor2D[] = [];
    try {
      // Forward outside any tape: keep only each block's input.
      let x = tf.tidy(() => this.embed(prep));
      for (let l = 0; l < L; l++) {
        inputs.push(x);
        x = this.block(l, x, prep);
      }
      inputs.push(x);
      // Head: loss and gradients w.r.t. the last hidden state and the head's parameters.
      const embed = this.parameter('model.embed_tokens.weight');
      const embedTrainable = (parts.get('embed') ?? []).includes(embed);
      // A tied lm_head reads the embedding matrix too.
      const head = [
        ...(parts.get('head') ?? []),
        ...(this.config.tie_word_embeddings && embedTrainable ? [embed] : []),
      ];
      const xL = inputs[L]!;
      const top = engine.gradients(
        () => this.headLoss(xL, prep, targets, weights, true),
        [xL, ...head.map((p) => p.variable)],
        undefined,
        true,
      );
      let dx = top.grads[0] as tf.Tensor2D;
      head.forEach((p, i) => {
        const g = top.grads[i + 1];
        if (g) addGrad(p.name, g);
      });
      // Blocks, last first: recompute block l under the tape and pull dx through it.
      for (let l = L - 1; l >= 0; l--) {
        const own = parts.get(l) ?? [];
        const xl = inputs[l]!;
        const r = engine.gradients(
          () => this.block(l, xl, prep),
          [xl, ...own.map((p) => p.variable)],
          dx,
          true,
        );
        r.value.dispose();
        dx.dispose();
        dx = r.grads[0] as tf.Tensor2D;
        own.forEach((p, i) => {
          const g = r.grads[i + 1];
          if (g) addGrad(p.name, g);
        });
      }
      // Embedding: rows gathered by id, so its gradient scatters dx back (duplicates summed).
      if (embedTrainable) {
        addGrad(
          embed.name,
          tf.tidy(() => tf.scatterND(tf.expandDims(prep.tensors.ids, 1), dx, embed.variable.shape)),
        );
      }
      dx.dispose();
      return { loss: top.value as tf.Scalar, numTokens, grads };
    } finally {
      tf.dispose(inputs);
      disposePrepared(prep);
    }
  }

  /** Releases every weight (and nothing a wrapper owns). */
  dispose(): void {
    for (const p of this.params.values()) p.variable.dispose();
    this.params.clear();
    this.projections.clear();
  }
}
