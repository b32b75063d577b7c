// RMSNorm (Zhang & Sennrich 2019) as Hugging Face `LlamaRMSNorm`: y = w ⊙ x / sqrt(mean(x²) + eps).
// The implementation, with its memory-lean gradient, is in fused.ts.
export { rmsNorm } from './fused.js';
