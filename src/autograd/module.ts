/**
 * Modules: named, persistent parameters (torch.nn.Module's bookkeeping, without the attribute magic).
 *
 * Parameters live outside every `tidy` scope (they are `keep`-ed at registration) and are freed only
 * by `dispose()`. A training step runs in one `tidy`; only the parameters and their `.grad` outlive it.
 */
import { contiguousStrides } from '../kernels/backend.js';
import { fmtShape } from './errors.js';
import { kaimingUniform, uniform } from './init.js';
import { tanh } from './ops/elementwise.js';
import { linear, matmul, type LinearOpOptions } from './ops/matmul.js';
import type { Rng } from './rng.js';
import type { HostTensor } from './safetensors.js';
import { keep } from './scope.js';
import { Tensor } from './tensor.js';

/** Copies `src`'s values into `dst`'s storage in place (torch's `param.copy_(src)`); shapes must match. */
export function assign(dst: Tensor, src: Tensor | HostTensor): void {
  if (src.shape.length !== dst.shape.length || src.shape.some((s, d) => s !== dst.shape[d])) {
    throw new RangeError(`assign: source ${fmtShape(src.shape)} does not match destination ${fmtShape(dst.shape)}`);
  }
  const backend = dst.backend;
  const flat = { offset: 0, strides: contiguousStrides([dst.size]) };
  if (src instanceof Tensor) {
    if (src.backend !== backend) throw new Error(`assign: the source lives on another backend (${src.backend.name})`);
    backend.copyStrided(src.buf, flat, dst.buf, flat, [dst.size]);
    return;
  }
  const tmp = backend.upload(src.data);
  backend.copyStrided(tmp, flat, dst.buf, flat, [dst.size]);
  backend.free(tmp);
}

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (torch's default, strict=True). Shapes must always match. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class Module {
  #params = new Map<string, Tensor>();
  #modules = new Map<string, Module>();

  /** Makes `t` a parameter named `name`: it requires grad and is kept out of every scope. */
  registerParameter(name: string, t: Tensor): Tensor {
    this.#checkName(name);
    t.requiresGrad = true;
    this.#params.set(name, keep(t));
    return t;
  }

  registerModule<M extends Module>(name: string, m: M): M {
    this.#checkName(name);
    this.#modules.set(name, m);
    return m;
  }

  #checkName(name: string): void {
    if (!name || name.includes('.')) throw new RangeError(`Module: name '${name}' must be non-empty and contain no '.'`);
    if (this.#params.has(name) || this.#modules.has(name)) throw new RangeError(`Module: '${name}' is already registered`);
  }

  /** Parameters with dotted names (`i2h.weight`), own ones first, in registration order (as PyTorch). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.#params].map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.#modules) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Name → parameter, sharing storage with the module (like torch's state_dict, not a copy). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies values into the parameters in place. Everything is checked before anything is copied, so
   * a bad dict leaves the module unchanged; the error names every missing, unexpected and mismatched key.
   */
  loadStateDict(dict: Record<string, Tensor | HostTensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = new Map(this.namedParameters());
    const missingKeys = [...own.keys()].filter((k) => !Object.hasOwn(dict, k));
    const unexpectedKeys = Object.keys(dict).filter((k) => !own.has(k));
    const errors: string[] = [];
    if (strict && missingKeys.length) errors.push(`missing key(s): ${missingKeys.map((k) => `'${k}'`).join(', ')}`);
    if (strict && unexpectedKeys.length) errors.push(`unexpected key(s): ${unexpectedKeys.map((k) => `'${k}'`).join(', ')}`);
    for (const [k, p] of own) {
      const src = Object.hasOwn(dict, k) ? dict[k] : undefined;
      if (src && (src.shape.length !== p.shape.length || src.shape.some((s, d) => s !== p.shape[d]))) {
        errors.push(`size mismatch for '${k}': the dict has ${fmtShape(src.shape)}, the module has ${fmtShape(p.shape)}`);
      }
    }
    if (errors.length) throw new Error(`loadStateDict(${this.constructor.name}): ${errors.join('; ')}`);
    for (const [k, p] of own) if (Object.hasOwn(dict, k)) assign(p, dict[k]);
    return { missingKeys, unexpectedKeys };
  }

  /** Drops every parameter's gradient (torch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Frees every parameter (and its gradient); the module is unusable afterwards. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}

export interface LinearOptions {
  bias?: boolean;
}

/** y = x·Wᵀ + b over the last dim of x (torch.nn.Linear), with PyTorch's default init. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    opts: LinearOptions = {},
  ) {
    super();
    // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=√5) for W, U(±1/√fan_in) for b.
    this.weight = this.registerParameter('weight', kaimingUniform([outFeatures, inFeatures], rng));
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniform([outFeatures], -bound, bound, rng));
  }

  /** x·Wᵀ + b, or its tanh with `{ activation: 'tanh' }` (fused into the same kernel when there is a bias). */
  forward(x: Tensor, opts: LinearOpOptions = {}): Tensor {
    // W is stored [out, in]; the matmul reads it transposed, without a copy.
    if (this.bias) return linear(x, this.weight, this.bias, opts);
    const y = matmul(x, this.weight, { transB: true });
    return opts.activation === 'tanh' ? tanh(y) : y;
  }
}
