// @loralab/rank: spectra of weight matrices and finetuning updates (Biderman et al. 2024, §5 and Figure 6).

export { bidiagonalQr } from './bidiagonal-qr.js';
export { type Bidiagonal, bidiagonalize, formP, formQ } from './bidiagonalize.js';
export { ConfigError, ConvergenceError, DataError, ShapeError } from './errors.js';
export {
  checkMatrix,
  frobeniusNorm,
  fromRows,
  identity,
  type Matrix,
  type Matrix64,
  matmul,
  matmulTransA,
  subtract,
  toFloat64,
  transpose,
  zeros,
} from './matrix.js';
export { type SvdOptions, type SvdResult, singularValues, svd } from './svd.js';
