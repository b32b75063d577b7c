// The LoRA scaling factor s of y = W x + s · B A x: s = α / r (Hu et al. 2021), or with rsLoRA
// (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA") s = α / √r, which keeps
// the update's magnitude stable as r grows. PEFT: `LoraLayer.update_layer`.

/** s = α / √r when `useRslora`, else α / r. */
export function loraScaling(alpha: number, r: number, useRslora: boolean): number {
  return useRslora ? alpha / Math.sqrt(r) : alpha / r;
}
