// The benchmark sizes of issue 4 (a, b, c), shared by the TypeScript and PyTorch sides.
export interface BenchSize {
  name: string;
  hidden: number;
  layers: number;
  heads: number;
  vocab: number;
  seq: number;
  /** Tokens per training step. */
  tokens: number;
}

export const SIZES: Record<string, BenchSize> = {
  a: { name: 'a', hidden: 128, layers: 4, heads: 4, vocab: 4096, seq: 128, tokens: 8192 },
  b: { name: 'b', hidden: 256, layers: 6, heads: 8, vocab: 8192, seq: 256, tokens: 8192 },
  c: { name: 'c', hidden: 512, layers: 8, heads: 8, vocab: 16384, seq: 512, tokens: 4096 },
};

/** Llama's SwiGLU width: 2/3 · 4d, rounded up to a multiple of 64. */
export function intermediate(hidden: number): number {
  return Math.ceil((8 * hidden) / 3 / 64) * 64;
}

/** The Hugging Face config of a size (untied head, MHA). */
export function benchConfig(s: BenchSize) {
  return {
    vocab_size: s.vocab,
    hidden_size: s.hidden,
    intermediate_size: intermediate(s.hidden),
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.heads,
    max_position_embeddings: s.seq,
    tie_word_embeddings: false,
  };
}
