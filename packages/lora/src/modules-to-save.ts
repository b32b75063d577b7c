// `modules_to_save` (PEFT: `ModulesToSaveWrapper` in peft/utils/other.py): a linear trained in full, as a copy per
// adapter beside the frozen original. The active adapter's copy runs; with adapters disabled, the original does.
// Saved under `base_model.model.<module>.weight` (PEFT strips `modules_to_save.<adapter>`).
import { ConfigError, type ForwardContext, Linear, type Parameter, type Projection } from '@loralab/model';
import * as tf from '@tensorflow/tfjs-core';

function copyParameter(name: string, p: Parameter, trainable: boolean): Parameter {
  const v = tf.variable(p.variable, trainable, `${name}#${Math.random().toString(36).slice(2)}`);
  return { name, variable: v };
}

export class ModulesToSaveLinear implements Projection {
  readonly name: string;
  /** Trainable copies by adapter name. */
  readonly copies = new Map<string, Linear>();
  activeAdapter: string | null = null;
  disabled = false;

  constructor(readonly original: Linear) {
    this.name = original.name;
  }

  get inFeatures(): number {
    return this.original.inFeatures;
  }

  get outFeatures(): number {
    return this.original.outFeatures;
  }

  /** Adds a copy of the original for `adapter` (PEFT: `update`). */
  addAdapter(adapter: string, trainable: boolean): void {
    if (this.copies.has(adapter)) {
      throw new ConfigError(
        `${this.name}: modules_to_save copy '${adapter}' already exists`,
        'adapter_name',
        adapter,
      );
    }
    const prefix = `base_model.model.${this.name}.modules_to_save.${adapter}`;
    const w = copyParameter(`${prefix}.weight`, this.original.weight, trainable);
    const b = this.original.bias ? copyParameter(`${prefix}.bias`, this.original.bias, trainable) : null;
    this.copies.set(adapter, new Linear(this.name, w, b));
  }

  /** The copy of `adapter`; throws when absent. */
  copy(adapter: string): Linear {
    const c = this.copies.get(adapter);
    if (!c)
      throw new ConfigError(
        `${this.name}: no modules_to_save copy for adapter '${adapter}'`,
        'adapter_name',
        adapter,
      );
    return c;
  }

  /** Parameters of the copies (weight, then bias). */
  copyParameters(adapter?: string): Parameter[] {
    const out: Parameter[] = [];
    for (const [name, c] of this.copies) {
      if (adapter !== undefined && name !== adapter) continue;
      out.push(c.weight, ...(c.bias ? [c.bias] : []));
    }
    return out;
  }

  extraParameters(): Parameter[] {
    return this.copyParameters();
  }

  apply(x: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const c = this.disabled || this.activeAdapter === null ? undefined : this.copies.get(this.activeAdapter);
    return (c ?? this.original).apply(x, ctx);
  }

  /** Makes `adapter`'s copy the active, trainable one (others frozen). */
  setAdapter(adapter: string | null, trainable = true): void {
    for (const [name, c] of this.copies) {
      for (const p of [c.weight, ...(c.bias ? [c.bias] : [])])
        p.variable.trainable = trainable && name === adapter;
    }
    this.activeAdapter = adapter !== null && this.copies.has(adapter) ? adapter : null;
  }

  deleteAdapter(adapter: string): void {
    const c = this.copy(adapter);
    c.weight.variable.dispose();
    c.bias?.variable.dispose();
    this.copies.delete(adapter);
    if (this.activeAdapter === adapter) this.activeAdapter = null;
  }

  dispose(): void {
    for (const name of [...this.copies.keys()]) this.deleteAdapter(name);
  }
}
