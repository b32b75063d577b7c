// A fixed number of async workers over a list; each worker has a slot index (used to pick a sandbox uid).

/** Runs `fn` on every item with at most `workers` calls in flight; results keep the input order. */
export async function mapWithWorkers<T, R>(
  items: readonly T[],
  workers: number,
  fn: (item: T, index: number, slot: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (slot: number) => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i, slot);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, (_, slot) => worker(slot)));
  return results;
}
