/** The autograd public API: tensors, ops, scopes. Models and tasks import only from here. */
import { registerGraphOps } from './graph.js';
import './methods.js';
import { addN } from './ops/elementwise.js';
import { reshape } from './ops/movement.js';
import { sum } from './ops/reduce.js';

registerGraphOps({ reshape, sum, addN });

export { DisposedError, NonFiniteError, ShapeError } from './errors.js';
export { backward, type BackwardOptions } from './graph.js';
export {
  abs, add, addN, affine, clamp, div, eq, exp, ge, gt, le, log, lt, maximum, minimum, mul, neg, pow, reciprocal,
  relu, scale, sigmoid, sign, sqrt, square, step, sub, tanh, where,
} from './ops/elementwise.js';
export { linear, matmul, outer, type LinearOpOptions, type MatmulOptions } from './ops/matmul.js';
export {
  hebbUpdate, plasticStep, plasticStepReference, TraceTape,
  type PlasticConfig, type PlasticStepArgs, type PlasticStepResult,
} from './ops/plastic.js';
export type { ClipKind, PlasticRule } from '../kernels/backend.js';
export { concat, expand, pad, permute, reshape, slice, split, squeeze, stack, transpose, unsqueeze } from './ops/movement.js';
export { crossEntropy, dropout, embedding, gather, logSoftmax, lstmCell, modulator, softmax, type CrossEntropyOptions } from './ops/nn.js';
export { max, mean, sum } from './ops/reduce.js';
export { dispose, keep, noGrad, tidy } from './scope.js';
export { detach, full, getBackend, ones, scalar, setBackend, Tensor, tensor, zeros, type TensorOptions } from './tensor.js';
export { loadCheckpoint, saveCheckpoint, type SaveCheckpointOptions } from './checkpoint.js';
export { fanIn, kaimingUniform, normal, uniform } from './init.js';
export { assign, Linear, Module, type LinearOptions, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export {
  Adam, assertFinite, clipGradNorm, findNonFinite, Optimizer, SGD,
  type AdamOptions, type FindNonFiniteOptions, type OptimizerStateDict, type SgdOptions,
} from './optim.js';
export { Rng, type RngState } from './rng.js';
export { decodeSafetensors, encodeSafetensors, type HostTensor, type SafetensorsContent } from './safetensors.js';
