/**
 * The autograd graph: nodes, op recording, and the reverse-mode walk.
 *
 * Each op is defined once (`OpDef`: forward kernel call, what to save, backward rule). This file is
 * the only place that records nodes, unbroadcasts gradients, accumulates them and frees saved
 * tensors. The walk is iterative (BPTT unrolls are thousands of steps deep) and each node runs once.
 */
import { ADD_N_MAX, type Backend, type Buf } from '../kernels/backend.js';
import { fmtShape, ShapeError } from './errors.js';
import { isGradEnabled, keep, noGrad, tidy } from './scope.js';
import { fromBuffer, getBackend, Tensor } from './tensor.js';

/** What an op's forward produces: a new buffer, or a view sharing an input's storage. */
export type OpOutput = { buf: Buf; shape: readonly number[] } | { viewOf: Tensor; shape: readonly number[] };

export interface BackwardContext<A> {
  attrs: A;
  /** The tensors `save` chose, in that order. */
  saved: Tensor[];
  /** Shapes of the op's inputs. */
  inputShapes: (readonly number[])[];
  /** Which inputs need a gradient; backward may return null for the others. */
  needsGrad: boolean[];
  /**
   * Output 0's gradient as the parts it arrived in (none: no gradient), for an op that adds them
   * up itself (OpDef.sumsGradParts); dys[0] is then null. Empty for the other ops.
   */
  dyParts: Tensor[];
}

export interface OpDef<A> {
  name: string;
  forward(backend: Backend, inputs: Tensor[], attrs: A): OpOutput[];
  /** Tensors the backward needs, chosen from inputs and outputs (outputs only read, never kept alive by users). */
  save?(inputs: Tensor[], outputs: Tensor[], attrs: A): Tensor[];
  /**
   * Gradients of the inputs given the outputs' gradients (null where an output got none). A
   * gradient may have a broadcast shape; the walk sums it back to the input's shape.
   */
  backward?(dys: (Tensor | null)[], ctx: BackwardContext<A>): (Tensor | null)[];
  /** Sees the node's own references to the saved tensors once recorded (they live until its backward ran). */
  recorded?(saved: Tensor[], attrs: A): void;
  /**
   * Up to how many parts of output 0's gradient the backward adds up itself (in its first kernel,
   * saving the walk's addN dispatch: a recurrent state's gradient comes from several consumers at
   * every step). More parts than that are summed by the walk first.
   */
  sumsGradParts?: number;
}

/** Creates an internal reference to `t`'s storage that no scope tracks. */
export function retainRef(t: Tensor): Tensor {
  return keep(new Tensor(t.storage.retain(), t.shape));
}

export class Node {
  #refs: number;
  #saved: Tensor[] | null;
  readonly outputs: Tensor[] = [];

  constructor(
    readonly def: OpDef<unknown>,
    readonly inputs: Tensor[],
    readonly attrs: unknown,
    numOutputs: number,
  ) {
    // A node lives while any output tensor is undisposed or any consumer node is alive.
    this.#refs = numOutputs;
    this.#saved = [];
    for (const x of inputs) if (x.creator) x.creator.#retain();
  }

  #retain(): void {
    this.#refs++;
  }

  setSaved(saved: Tensor[]): void {
    this.#saved = saved.map(retainRef);
  }

  /** The saved tensors, or an error if backward already freed them. */
  takeSaved(): Tensor[] {
    if (!this.#saved) {
      throw new Error(`${this.def.name}: backward through a graph that was already freed (pass retainGraph: true to backward the first time)`);
    }
    return this.#saved;
  }

  freeSaved(): void {
    if (this.#saved) for (const t of this.#saved) t.dispose();
    this.#saved = null;
  }

  /** An output tensor was disposed. When nothing refers to the node, its saved tensors go. */
  releaseOutput(): void {
    // Iterative: releasing a long unrolled chain must not recurse thousands deep.
    const stack: Node[] = [this];
    while (stack.length) {
      const node = stack.pop()!;
      if (--node.#refs > 0) continue;
      node.freeSaved();
      for (const x of node.inputs) if (x.creator) stack.push(x.creator);
    }
  }
}

/** Runs an op: forward on the current backend, and a graph node when a gradient is needed. */
export function runOp<A>(def: OpDef<A>, inputs: Tensor[], attrs: A): Tensor[] {
  const backend = inputs.length ? inputs[0].backend : getBackend();
  for (const [i, x] of inputs.entries()) {
    if (x.backend !== backend) throw new Error(`${def.name}: input ${i} lives on another backend (${x.backend.name})`);
  }
  const outs = def.forward(backend, inputs, attrs).map((o) =>
    'viewOf' in o ? new Tensor(o.viewOf.storage.retain(), o.shape) : fromBuffer(backend, o.buf, o.shape),
  );
  if (def.backward && isGradEnabled() && inputs.some((x) => x.requiresGrad)) {
    const node = new Node(def as OpDef<unknown>, inputs, attrs, outs.length);
    if (def.save) node.setSaved(def.save(inputs, outs, attrs));
    def.recorded?.(node.takeSaved(), attrs);
    for (const t of outs) {
      t.creator = node;
      t.requiresGrad = true;
      node.outputs.push(t);
    }
  }
  return outs;
}

/** Sums a broadcast gradient back to `shape` (the one place unbroadcasting happens). */
export function unbroadcast(g: Tensor, shape: readonly number[], sum: (g: Tensor, axes: number[], keep: boolean) => Tensor): Tensor {
  if (g.shape.length === shape.length && g.shape.every((s, d) => s === shape[d])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let d = 0; d < g.rank; d++) {
    if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  }
  const reduced = sum(g, axes, true);
  // Drop the leading dims that were added by broadcasting.
  return reshapeTo(reduced, shape);
}

let reshapeTo: (t: Tensor, shape: readonly number[]) => Tensor;
let sumAxes: (g: Tensor, axes: number[], keep: boolean) => Tensor;
let addTensors: (xs: readonly Tensor[]) => Tensor;

/** The graph walk composes a few ops; they are injected here to keep the import graph acyclic. */
export function registerGraphOps(ops: {
  reshape: typeof reshapeTo;
  sum: typeof sumAxes;
  addN: typeof addTensors;
}): void {
  reshapeTo = ops.reshape;
  sumAxes = ops.sum;
  addTensors = ops.addN;
}

/** Nodes reachable from `root` in reverse topological order (consumers before producers). */
function reverseTopo(root: Node): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>([root]);
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const child = node.inputs[i].creator;
      if (child && !visited.has(child)) {
        visited.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

export interface BackwardOptions {
  /** Keep saved tensors so backward can run through the graph again. */
  retainGraph?: boolean;
}

/**
 * Reverse-mode sweep from `root`, accumulating into the `.grad` of every leaf that requires it
 * (adding to an existing `.grad`, as PyTorch does). `grad` defaults to ones for a one-element root.
 */
export function backward(root: Tensor, grad?: Tensor, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error(`backward: the tensor ${fmtShape(root.shape)} does not require grad`);
  if (!grad && root.size !== 1) {
    throw new ShapeError(`backward: a gradient must be given for a non-scalar tensor ${fmtShape(root.shape)}`);
  }
  if (grad && grad.size !== root.size) {
    throw new ShapeError(`backward: grad ${fmtShape(grad.shape)} does not match tensor ${fmtShape(root.shape)}`);
  }
  noGrad(() => {
    const seed = keep(grad ? reshapeTo(grad, root.shape) : fromBuffer(root.backend, root.backend.fill(1, 1), root.shape));
    if (!root.creator) {
      accumulateLeaf(root, [seed]);
      return;
    }
    const grads = new PendingGrads();
    const leaves = new PendingGrads();
    grads.add(root, seed);
    // Whatever happens (a freed graph, a shape error), pending gradients are released.
    try {
      for (const node of reverseTopo(root.creator)) {
        if (!node.outputs.some((t) => grads.has(t))) continue;
        // Saved tensors first: a freed graph throws here, with every gradient still pending.
        const saved = node.takeSaved();
        const maxParts = node.def.sumsGradParts ?? 0;
        let dyParts = maxParts > 0 ? grads.takeParts(node.outputs[0]) : [];
        if (dyParts.length > maxParts) dyParts = [sumParts(dyParts)];
        const dys = node.outputs.map((t, i) => (i === 0 && maxParts > 0 ? null : grads.take(t)));
        const computed = tidy(() =>
          node.def.backward!(dys, {
            attrs: node.attrs,
            saved,
            inputShapes: node.inputs.map((x) => x.shape),
            needsGrad: node.inputs.map((x) => x.requiresGrad),
            dyParts,
          }).map((g, i) => (g && node.inputs[i].requiresGrad ? unbroadcast(g, node.inputs[i].shape, sumAxes) : null)),
        );
        // A rule may return dy itself, or one tensor for two inputs: give each gradient its own reference.
        const inputGrads = computed.map((g) => g && retainRef(g));
        for (const t of [...dys, ...dyParts, ...computed]) t?.dispose();
        if (!opts.retainGraph) node.freeSaved();
        for (const [i, g] of inputGrads.entries()) {
          if (g) (node.inputs[i].creator ? grads : leaves).add(node.inputs[i], g);
        }
      }
      for (const x of leaves.tensors()) accumulateLeaf(x, leaves.takeParts(x));
    } finally {
      grads.dispose();
      leaves.dispose();
    }
  });
}

/**
 * The gradients each tensor has received and not yet summed. They are summed with one addN (up
 * to ADD_N_MAX at a time) when the tensor's own gradient is needed, so that a tensor with k
 * consumers, such as a parameter used at every step of a sequence, costs about k/6 dispatches
 * instead of the k − 1 of adding each as it arrives. At most ADD_N_MAX wait per tensor.
 */
class PendingGrads {
  readonly #parts = new Map<Tensor, Tensor[]>();

  add(x: Tensor, g: Tensor): void {
    const parts = this.#parts.get(x);
    if (!parts) {
      this.#parts.set(x, [g]);
    } else if (parts.push(g) === ADD_N_MAX) {
      this.#parts.set(x, [sumParts(parts)]);
    }
  }

  has(x: Tensor): boolean {
    return this.#parts.has(x);
  }

  /** The summed gradient of x, now no longer pending; null if it has none. */
  take(x: Tensor): Tensor | null {
    const parts = this.takeParts(x);
    return parts.length ? sumParts(parts) : null;
  }

  takeParts(x: Tensor): Tensor[] {
    const parts = this.#parts.get(x) ?? [];
    this.#parts.delete(x);
    return parts;
  }

  tensors(): Tensor[] {
    return [...this.#parts.keys()];
  }

  dispose(): void {
    for (const parts of this.#parts.values()) for (const g of parts) g.dispose();
    this.#parts.clear();
  }
}

/** One tensor for the sum of `parts`, which it consumes. */
function sumParts(parts: Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const sum = keep(addTensors(parts));
  for (const g of parts) g.dispose();
  return sum;
}

function accumulateLeaf(x: Tensor, parts: Tensor[]): void {
  if (!x.requiresGrad || x.isDisposed) {
    for (const g of parts) g.dispose();
    return;
  }
  x.grad = sumParts(x.grad ? [x.grad, ...parts] : parts);
}
