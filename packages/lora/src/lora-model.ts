// LoraModel: LoRA adapters injected into a whole `LlamaForCausalLM` through its projection seam (PEFT:
// `LoraModel` in peft/tuners/lora/model.py and `BaseTuner` in peft/tuners/tuners_utils.py, with the parts of
// `PeftModel` that a causal LM needs). Targets follow PEFT's `target_modules` semantics; base weights are frozen.
import { ConfigError, Linear, type LlamaForCausalLM, type Parameter } from '@loralab/model';
import type * as tf from '@tensorflow/tfjs-core';
import {
  type LoraConfig,
  type LoraInit,
  parseInitLoraWeights,
  type ResolveOptions,
  resolveLoraConfig,
} from './config.js';
import { isLinear, LoraLinear } from './lora-layer.js';
import { ModulesToSaveLinear } from './modules-to-save.js';
import { modulesToSave, rankAndAlpha, resolveTargetModules, targetedProjections } from './target-modules.js';

export interface AddAdapterOptions {
  /** Seed of the adapter's random initialisation (default 0). */
  seed?: number;
  /** How `config` is resolved (unknown keys, warnings). */
  resolve?: ResolveOptions;
  /** Override of the initialisation (used when loading: values come from a file and W must not change). */
  init?: LoraInit;
}

/** PEFT's `get_nb_trainable_parameters` / `print_trainable_parameters`. */
export interface TrainableParameterReport {
  /** Elements of trainable parameters. */
  trainable: number;
  /** Elements of all parameters: the model's own (a tied weight once), every adapter, every saved-module copy. */
  all: number;
  /** 100 · trainable / all. */
  percent: number;
  /** `trainable params: T || all params: A || trainable%: P`, as PEFT prints it. */
  text: string;
}

function numel(p: Parameter): number {
  return p.variable.size;
}

export class LoraModel {
  /** Resolved config of each adapter, by adapter name (target_modules expanded as PEFT saves it). */
  readonly peftConfig = new Map<string, LoraConfig>();
  private readonly layers = new Map<string, LoraLinear>();
  private readonly saved = new Map<string, ModulesToSaveLinear>();
  private active: string;
  private adaptersDisabled = false;

  /** Injects adapter `adapterName` (default `default`) into `model` (PEFT: `get_peft_model`). */
  constructor(
    readonly model: LlamaForCausalLM,
    config: Partial<LoraConfig> | LoraConfig,
    adapterName = 'default',
    options: AddAdapterOptions = {},
  ) {
    this.active = adapterName;
    this.addAdapter(adapterName, config, options);
    this.setAdapter(adapterName);
  }

  /** The active adapter's name (PEFT: `active_adapter`). */
  get activeAdapter(): string {
    return this.active;
  }

  /** Names of every adapter, in the order they were added. */
  adapterNames(): string[] {
    return [...this.peftConfig.keys()];
  }

  /** The `LoraLinear` wrappers by module name. */
  loraLayers(): Map<string, LoraLinear> {
    return new Map(this.layers);
  }

  /** Module names adapter `adapterName` wraps, in forward order. */
  targetedModules(adapterName = this.active): string[] {
    const order = this.model.projectionNames();
    return order.filter((n) => this.layers.get(n)?.adapters.has(adapterName));
  }

  /** Module names whose full copies adapter `adapterName` trains (`modules_to_save`). */
  savedModules(adapterName = this.active): string[] {
    return this.model.projectionNames().filter((n) => this.saved.get(n)?.copies.has(adapterName));
  }

  /** The `modules_to_save` wrapper of `module`; throws when absent. */
  savedModule(module: string): ModulesToSaveLinear {
    const s = this.saved.get(module);
    if (!s) throw new ConfigError(`no modules_to_save copy of '${module}'`, 'modules_to_save', module);
    return s;
  }

  /**
   * Adds adapter `name` (PEFT: `add_adapter` / `inject_adapter`): wraps every targeted linear (or extends its
   * existing wrapper) and freezes the base. A new adapter other than the first is not active until `setAdapter`.
   */
  addAdapter(name: string, config: Partial<LoraConfig> | LoraConfig, options: AddAdapterOptions = {}): void {
    if (this.peftConfig.has(name))
      throw new ConfigError(`adapter '${name}' already exists`, 'adapter_name', name);
    if (this.merged()) throw new ConfigError(`unmerge before adding adapter '${name}'`, 'adapter_name', name);
    const resolved = resolveLoraConfig(config, options.resolve);
    resolved.target_modules = resolveTargetModules(resolved, this.model);
    const targets = targetedProjections(resolved, this.model);
    const saveTargets = modulesToSave(resolved, this.model);
    const both = saveTargets.filter((m) => targets.includes(m));
    if (both.length > 0) {
      throw new ConfigError(
        `modules ${both.join(', ')} are both LoRA targets and modules_to_save`,
        'modules_to_save',
        resolved.modules_to_save,
      );
    }
    const init = options.init ?? parseInitLoraWeights(resolved.init_lora_weights);
    const seed = options.seed ?? 0;
    const trainable = !resolved.inference_mode && name === this.active;
    const tiedHead = this.model.config.tie_word_embeddings;
    if (init.kind === 'pissa') {
      // Check every module before PiSSA rewrites any weight, so a failure leaves the base untouched.
      for (const module of targets) {
        const { r } = rankAndAlpha(resolved, module);
        const p = this.model.getProjection(module);
        if (r > Math.min(p.inFeatures, p.outFeatures)) {
          throw new ConfigError(
            `${module}: PiSSA needs r <= min(in, out) = ${Math.min(p.inFeatures, p.outFeatures)}, found r = ${r}`,
            'r',
            r,
          );
        }
      }
    }
    const added: LoraLinear[] = [];
    const addedSaved: ModulesToSaveLinear[] = [];
    try {
      targets.forEach((module, i) => {
        let layer = this.layers.get(module);
        if (!layer) {
          const inner = this.model.getProjection(module);
          if (!isLinear(inner)) {
            throw new ConfigError(
              `${module} is wrapped by something other than LoRA; cannot inject`,
              'target_modules',
              module,
            );
          }
          layer = new LoraLinear(inner, tiedHead && module === 'lm_head');
          layer.disabled = this.adaptersDisabled;
          this.model.setProjection(module, layer);
          this.layers.set(module, layer);
        }
        const { r, alpha } = rankAndAlpha(resolved, module);
        layer.updateLayer(name, {
          r,
          alpha,
          dropout: resolved.lora_dropout,
          useRslora: resolved.use_rslora,
          useDora: resolved.use_dora,
          init,
          seed: seed * 1_000_003 + 2 * i + 1, // never 0: tfjs treats seed 0 as unseeded
          trainable,
        });
        added.push(layer);
      });
      for (const module of saveTargets) {
        let wrapper = this.saved.get(module);
        if (!wrapper) {
          const inner = this.model.getProjection(module);
          if (!(inner instanceof Linear) || (tiedHead && module === 'lm_head')) {
            throw new ConfigError(
              `modules_to_save '${module}' must be an untied linear`,
              'modules_to_save',
              module,
            );
          }
          wrapper = new ModulesToSaveLinear(inner);
          wrapper.disabled = this.adaptersDisabled;
          this.model.setProjection(module, wrapper);
          this.saved.set(module, wrapper);
        }
        wrapper.addAdapter(name, trainable);
        addedSaved.push(wrapper);
      }
    } catch (e) {
      for (const l of added) if (l.adapters.has(name)) l.deleteAdapter(name);
      for (const s of addedSaved) if (s.copies.has(name)) s.deleteAdapter(name);
      this.dropEmptyWrappers();
      throw e;
    }
    this.peftConfig.set(name, resolved);
    this.model.setTrainable(false); // PEFT: `_mark_only_adapters_as_trainable` (setAdapter re-applies `bias`)
    if (this.peftConfig.has(this.active)) this.setAdapter(this.active);
  }

  /** Makes `name` the active adapter: it alone runs and (unless in inference mode) trains (PEFT: `set_adapter`). */
  setAdapter(name: string): void {
    const config = this.peftConfig.get(name);
    if (!config)
      throw new ConfigError(
        `no adapter named '${name}' (have ${this.adapterNames().join(', ')})`,
        'adapter_name',
        name,
      );
    const trainable = !config.inference_mode;
    for (const l of this.layers.values()) l.setAdapter([name], trainable);
    for (const s of this.saved.values()) s.setAdapter(name, trainable);
    this.active = name;
    // PEFT's `_mark_only_adapters_as_trainable`: the base is frozen except the biases `bias` names.
    this.model.setTrainable(false);
    if (trainable) {
      const biases = new Set(this.biasParameters(name).map((p) => p.name));
      this.model.setTrainable(true, (n) => biases.has(n));
    }
  }

  /** The base biases adapter `adapterName` trains and saves: none, every bias (`"all"`), or the adapted linears' (`"lora_only"`). */
  biasParameters(adapterName = this.active): Parameter[] {
    const config = this.peftConfig.get(adapterName);
    if (!config || config.bias === 'none') return [];
    const adapted = new Set(this.targetedModules(adapterName).map((m) => `${m}.bias`));
    return [...this.model.parameters().values()].filter((p) =>
      config.bias === 'all' ? p.name.endsWith('.bias') : adapted.has(p.name),
    );
  }

  /** Removes adapter `name` and frees its tensors; wrappers left without adapters are removed from the model. */
  deleteAdapter(name: string): void {
    if (!this.peftConfig.has(name)) throw new ConfigError(`no adapter named '${name}'`, 'adapter_name', name);
    for (const l of this.layers.values()) if (l.adapters.has(name)) l.deleteAdapter(name);
    for (const s of this.saved.values()) if (s.copies.has(name)) s.deleteAdapter(name);
    this.peftConfig.delete(name);
    this.dropEmptyWrappers();
    const next = this.adapterNames()[0];
    if (this.active === name && next !== undefined) this.setAdapter(next);
  }

  private dropEmptyWrappers(): void {
    for (const [module, l] of this.layers) {
      if (l.adapters.size === 0) {
        this.model.setProjection(module, l.base);
        this.layers.delete(module);
      }
    }
    for (const [module, s] of this.saved) {
      if (s.copies.size === 0) {
        this.model.setProjection(module, s.original);
        this.saved.delete(module);
      }
    }
  }

  /** PEFT: `enable_adapter_layers`. */
  enableAdapterLayers(): void {
    this.adaptersDisabled = false;
    for (const l of this.layers.values()) l.disabled = false;
    for (const s of this.saved.values()) s.disabled = false;
  }

  /** PEFT: `disable_adapter_layers`: the model computes the base output (merged adapters are unmerged first). */
  disableAdapterLayers(): void {
    this.adaptersDisabled = true;
    for (const l of this.layers.values()) {
      l.unmerge();
      l.disabled = true;
    }
    for (const s of this.saved.values()) s.disabled = true;
  }

  /** Runs `fn` with adapters disabled and re-enables them afterwards (PEFT: `with model.disable_adapter():`). */
  withAdapterDisabled<T>(fn: () => T): T {
    const was = this.adaptersDisabled;
    this.disableAdapterLayers();
    try {
      return fn();
    } finally {
      if (!was) this.enableAdapterLayers();
    }
  }

  /** True when any adapter is merged into the base weights. */
  merged(): boolean {
    return [...this.layers.values()].some((l) => l.merged);
  }

  /** Merges adapters (default: the active one) into the base weights in float32 (PEFT: `merge_adapter`). */
  merge(adapterNames: readonly string[] = [this.active], options: { safeMerge?: boolean } = {}): void {
    for (const n of adapterNames)
      if (!this.peftConfig.has(n)) throw new ConfigError(`no adapter named '${n}'`, 'adapter_name', n);
    for (const l of this.layers.values()) {
      const names = adapterNames.filter((n) => l.adapters.has(n));
      if (names.length > 0) l.merge(names, options.safeMerge ?? false);
    }
  }

  /** Takes every merged adapter out of the base weights again (PEFT: `unmerge_adapter`). */
  unmerge(): void {
    for (const l of this.layers.values()) l.unmerge();
  }

  /**
   * Merges adapters (default: the active one) into the base, removes every wrapper, frees the adapters and returns
   * the plain model (PEFT: `merge_and_unload`). A `modules_to_save` copy of the active adapter replaces its original.
   * This `LoraModel` is empty afterwards.
   */
  mergeAndUnload(options: { adapterNames?: readonly string[]; safeMerge?: boolean } = {}): LlamaForCausalLM {
    this.enableAdapterLayers();
    this.unmerge();
    this.merge(options.adapterNames ?? [this.active], { safeMerge: options.safeMerge });
    for (const s of this.saved.values()) {
      const copy = s.copies.get(this.active);
      if (!copy) continue;
      s.original.weight.variable.assign(copy.weight.variable);
      if (copy.bias && s.original.bias) s.original.bias.variable.assign(copy.bias.variable);
    }
    for (const l of this.layers.values()) l.mergedAdapters.length = 0; // the merge is now permanent
    return this.unload();
  }

  /**
   * Removes every wrapper without merging, frees the adapters and returns the plain model (PEFT: `unload`). Weights
   * that PiSSA rewrote keep their residual values.
   */
  unload(): LlamaForCausalLM {
    this.unmerge();
    for (const [module, l] of this.layers) {
      this.model.setProjection(module, l.base);
      l.dispose();
    }
    for (const [module, s] of this.saved) {
      this.model.setProjection(module, s.original);
      s.dispose();
    }
    this.layers.clear();
    this.saved.clear();
    this.peftConfig.clear();
    return this.model;
  }

  /**
   * The effective update W_eff − W (out, in) that adapter `adapterName` (default: the active one) makes to the linear
   * `module`: s·B·A, or DoRA's (m/‖W + s·B·A‖_row) ⊙ (W + s·B·A) − W. The caller owns the tensor.
   */
  deltaWeight(module: string, adapterName = this.active): tf.Tensor2D {
    const l = this.layers.get(module);
    if (!l) {
      throw new ConfigError(
        `'${module}' carries no LoRA adapter (adapted: ${[...this.layers.keys()].slice(0, 4).join(', ')}, ...)`,
        'module',
        module,
      );
    }
    return l.deltaWeight(adapterName);
  }

  /** Parameters of adapter `adapterName` (A, B, the variant's, saved-module copies), trainable or not. */
  adapterParameters(adapterName = this.active): Parameter[] {
    const out: Parameter[] = [];
    for (const l of this.layers.values()) out.push(...l.adapterParameters(adapterName));
    for (const s of this.saved.values()) out.push(...s.copyParameters(adapterName));
    return out;
  }

  /** The trainable parameters (the model's own are frozen, so: the active adapter's, unless in inference mode). */
  trainableParameters(): Parameter[] {
    return this.model.trainableParameters();
  }

  /** Trainable and total parameter counts, as PEFT's `print_trainable_parameters` reports them. */
  trainableParameterReport(): TrainableParameterReport {
    let all = 0;
    for (const p of this.model.parameters().values()) all += numel(p);
    for (const l of this.layers.values()) for (const p of l.adapterParameters()) all += numel(p);
    for (const s of this.saved.values()) for (const p of s.copyParameters()) all += numel(p);
    const trainable = this.trainableParameters().reduce((n, p) => n + numel(p), 0);
    const percent = all === 0 ? 0 : (100 * trainable) / all;
    return {
      trainable,
      all,
      percent,
      text: `trainable params: ${trainable.toLocaleString('en-US')} || all params: ${all.toLocaleString('en-US')} || trainable%: ${percent.toFixed(4)}`,
    };
  }

  /** Frees every adapter and restores the base projections (the model itself stays the caller's). */
  dispose(): void {
    this.unload();
  }
}
