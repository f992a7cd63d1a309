/**
 * Parameter initialisers. Values are drawn on the host from an `Rng` (so a seed fixes them on every
 * backend) and uploaded once.
 */
import { sizeOf } from '../kernels/backend.js';
import type { Rng } from './rng.js';
import { tensor, type Tensor, type TensorOptions } from './tensor.js';

/** Values ~ U(lo, hi). */
export function uniform(shape: readonly number[], lo: number, hi: number, rng: Rng, opts?: TensorOptions): Tensor {
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return tensor(data, shape, opts);
}

/** Values ~ N(mean, std²), mean 0 unless given. */
export function normal(shape: readonly number[], std: number, rng: Rng, opts: TensorOptions & { mean?: number } = {}): Tensor {
  const mean = opts.mean ?? 0;
  const data = new Float64Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
  return tensor(data, shape, opts);
}

/**
 * fan_in of a weight as torch.nn.init._calculate_fan_in_and_fan_out computes it: the second dim
 * times the receptive field (the product of dims after the second).
 */
export function fanIn(shape: readonly number[]): number {
  if (shape.length < 2) throw new RangeError(`fanIn: a weight needs at least 2 dims, got [${shape.join(',')}]`);
  return sizeOf(shape.slice(1));
}

/**
 * PyTorch's default weight init for nn.Linear: kaiming_uniform_(w, a=√5). Its bound is
 * gain·√(3/fan_in) with gain = √(2/(1+a²)) = √(1/3), which reduces to 1/√fan_in.
 */
export function kaimingUniform(shape: readonly number[], rng: Rng, opts?: TensorOptions): Tensor {
  const bound = 1 / Math.sqrt(fanIn(shape));
  return uniform(shape, -bound, bound, rng, opts);
}
