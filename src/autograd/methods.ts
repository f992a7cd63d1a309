/**
 * Tensor methods: thin wrappers over the op functions, so `x.mul(y).sum()` reads like PyTorch.
 * Declared by interface merging here to keep tensor.ts free of op imports (no import cycles).
 */
import { backward, type BackwardOptions } from './graph.js';
import { add, div, exp, log, mul, neg, relu, sigmoid, sub, tanh } from './ops/elementwise.js';
import { matmul, type MatmulOptions } from './ops/matmul.js';
import { reshape, transpose } from './ops/movement.js';
import { max, mean, sum } from './ops/reduce.js';
import { detach, Tensor } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    /** Reverse-mode sweep; accumulates into the `.grad` of leaves. `grad` defaults to 1 for a scalar. */
    backward(grad?: Tensor, opts?: BackwardOptions): void;
    /** The same values, sharing storage, with no graph behind them. */
    detach(): Tensor;
    add(b: Tensor | number): Tensor;
    sub(b: Tensor | number): Tensor;
    mul(b: Tensor | number): Tensor;
    div(b: Tensor | number): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    matmul(b: Tensor, opts?: MatmulOptions): Tensor;
    reshape(shape: readonly number[]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    sum(axis?: number | readonly number[], keepDims?: boolean): Tensor;
    mean(axis?: number | readonly number[], keepDims?: boolean): Tensor;
    max(axis?: number | readonly number[], keepDims?: boolean): Tensor;
  }
}

Object.assign(Tensor.prototype, {
  backward(this: Tensor, grad?: Tensor, opts?: BackwardOptions) {
    backward(this, grad, opts);
  },
  detach(this: Tensor) { return detach(this); },
  add(this: Tensor, b: Tensor | number) { return add(this, b); },
  sub(this: Tensor, b: Tensor | number) { return sub(this, b); },
  mul(this: Tensor, b: Tensor | number) { return mul(this, b); },
  div(this: Tensor, b: Tensor | number) { return div(this, b); },
  neg(this: Tensor) { return neg(this); },
  exp(this: Tensor) { return exp(this); },
  log(this: Tensor) { return log(this); },
  tanh(this: Tensor) { return tanh(this); },
  sigmoid(this: Tensor) { return sigmoid(this); },
  relu(this: Tensor) { return relu(this); },
  matmul(this: Tensor, b: Tensor, opts?: MatmulOptions) { return matmul(this, b, opts); },
  reshape(this: Tensor, shape: readonly number[]) { return reshape(this, shape); },
  transpose(this: Tensor, dim0?: number, dim1?: number) { return transpose(this, dim0, dim1); },
  sum(this: Tensor, axis?: number | readonly number[], keepDims?: boolean) { return sum(this, axis, keepDims); },
  mean(this: Tensor, axis?: number | readonly number[], keepDims?: boolean) { return mean(this, axis, keepDims); },
  max(this: Tensor, axis?: number | readonly number[], keepDims?: boolean) { return max(this, axis, keepDims); },
});
