/**
 * The plastic RNN step written in TensorFlow.js (WebGPU, WASM) and jax-js (WebGPU, WASM with jit),
 * and in PyTorch on the CPU where it is installed (bench/torch_peer.ts): the peers that
 * bench/kernels.bench.ts times against our fused kernels, the WebGPU ones on the same Dawn device.
 *
 * One math definition for every peer, the step of PAPER.md §1.6 (rows postsynaptic):
 *
 *   h  = tanh(x·W_inᵀ + b_in + (w + α⊙P)·h_prev)          P: [B, N, N], h: [B, N]
 *   M  = tanh(h·W_DAᵀ + b_DA)                              [B, 1], one modulation per episode
 *   Δ  = h ⊗ h_prev                                        Δ[b, i, j] = h[b, i]·h_prev[b, j]
 *   neuromodulated: P' = clip(P + M·Δ, ±1)
 *   retroactive:    P' = clip(P + M·E, ±1);  E' = (1 − η)·E + η·Δ    (E from before this step)
 *
 * written the way a user of each library would write it (and the authors' PyTorch code does):
 * w + α⊙P materialised as a [B, N, N] tensor, then a batched matmul. An episode runs T such steps
 * from zero state and differentiates the sum of every h over the episode with respect to w, α
 * (and η for the retroactive rule), with tf.valueAndGrads and jax.valueAndGrad under jax.jit.
 * The trace update of the last step is skipped there: the loss does not depend on it.
 */
import type * as TF from '@tensorflow/tfjs';
import type * as Jax from '@jax-js/jax';
import { randomData, type Case, type Lib, type Scheduler, type Unavailable } from './harness.js';
import { torchPlastic } from './torch_peer.js';

/** Host data as every library here accepts it (jax-js rejects a view of a SharedArrayBuffer). */
export type F32 = Float32Array<ArrayBuffer>;

/** The two rules of the issue: the simple neuromodulated step and the retroactive (eligibility-trace) one. */
export type StepRule = 'neuromodulated' | 'retroactive';

export interface StepSpec {
  rule: StepRule;
  batch: number;
  n: number;
  inputSize: number;
}

/**
 * The cell's parameters on the host, in our layout (PlasticRNN's state dict): every library of a
 * run computes with the same numbers.
 */
export interface CellParams {
  /** i2h.weight, [N, I]. */
  win: F32;
  /** i2h.bias, [N]. */
  bIn: F32;
  /** [N, N]. */
  w: F32;
  /** [N, N]. */
  alpha: F32;
  /** h2DA.weight, [1, N]. */
  wDA: F32;
  /** h2DA.bias, [1]. */
  bDA: F32;
  /** Eligibility-trace rate η, [1] (retroactive only). */
  eta: F32;
}

/**
 * Deterministic parameters: w and α of order 1/√N, so that the plastic term matters and a wrong
 * index in a peer shows in the check against our engine; η = 0.1 (sr/modul.py).
 */
export function cellParams({ n, inputSize }: StepSpec, seed = 1): CellParams {
  const scaled = (len: number, s: number, scale: number) => randomData(len, seed * 16 + s).map((v) => v * scale);
  return {
    win: scaled(n * inputSize, 1, 1 / Math.sqrt(inputSize)),
    bIn: scaled(n, 2, 0.1),
    w: scaled(n * n, 3, 1 / Math.sqrt(n)),
    alpha: scaled(n * n, 4, 1 / Math.sqrt(n)),
    wDA: scaled(n, 5, 2 / Math.sqrt(n)),
    bDA: new Float32Array([0.1]),
    eta: new Float32Array([0.1]),
  };
}

/** Loss and gradients of one episode, read back for the check against our engine. */
export interface EpisodeValues {
  /** Σ over the episode of every h[b, i]. */
  loss: number;
  /** d loss / d w, d loss / d α, and d loss / d η for the retroactive rule. */
  grads: Float32Array[];
}

/** A peer library able to run the plastic step; its scheduling is that of its `Lib` in peers.ts. */
export interface PlasticLib extends Scheduler {
  readonly name: string;
  readonly kind: Lib['kind'];
  readonly adapter: string;
  destroy(): void;
  /** One forward step per run(); the state (h, P, E) carries over from run to run. */
  step(spec: StepSpec, p: CellParams, x: F32): Promise<Case>;
  /** One episode per run(): xs.length steps forward from zero state, then the gradients. */
  episode(spec: StepSpec, p: CellParams, xs: readonly F32[]): Promise<Case>;
  /** The episode's loss and gradients, read back. */
  values(spec: StepSpec, p: CellParams, xs: readonly F32[]): Promise<EpisodeValues>;
}

/**
 * The plastic step on each peer of peers.ts (same devices, same scheduling), plus jax-js on WASM
 * and PyTorch. Peers that failed to load stay `Unavailable` with their reason.
 */
export async function plasticPeers(loaded: readonly (Lib | Unavailable)[]): Promise<(PlasticLib | Unavailable)[]> {
  const out: (PlasticLib | Unavailable)[] = [];
  for (const lib of loaded) {
    if ('reason' in lib) out.push(lib);
    else if (lib.name.startsWith('TF.js')) out.push(tfPlastic(lib, await import('@tensorflow/tfjs')));
    // gpuBufferSync() submits the pending kernels of the output's jit call, as peers.ts does.
    else if (lib.name === 'jax-js-webgpu') out.push(jaxPlastic(lib, await import('@jax-js/jax'), 'webgpu', (x) => void x.gpuBufferSync()));
    else out.push({ name: lib.name, reason: 'no plastic step written for this peer' });
  }
  out.push(await jaxWasm(), await torchPlastic());
  return out;
}

/**
 * jax-js on WASM. Its kernels run when an output is realized; dataSync() does that at once on the
 * CPU (no readback to wait for), so run() computes, as TF.js-wasm's eager ops do, and no time is
 * left to the harness's sync, which would sleep through it. Node 20 has no Web Worker, so jax-js
 * runs its WASM single-threaded here.
 */
async function jaxWasm(): Promise<PlasticLib | Unavailable> {
  try {
    const jax: typeof Jax = await import('@jax-js/jax');
    const devices = await jax.init('wasm');
    if (!devices.includes('wasm')) throw new Error(`jax.init('wasm') found no WASM device (got: ${devices.join(', ') || 'none'})`);
    const threads = typeof Worker === 'undefined' ? '1 thread (no Web Worker in Node)' : 'Web Workers';
    const about = { name: 'jax-js-wasm', kind: 'cpu', adapter: `wasm, jit, ${threads}`, flush: () => {}, sync: async () => {}, destroy: () => {} } as const;
    // Realizing one output runs every kernel of its jit call; the copy-out is of h or the scalar loss.
    return jaxPlastic(about, jax, 'wasm', (x) => void x.dataSync());
  } catch (error) {
    return { name: 'jax-js-wasm', reason: error instanceof Error ? error.message : String(error) };
  }
}

const transpose = (a: F32, rows: number, cols: number): F32 => {
  const out = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c];
  return out;
};

// ---------------------------------------------------------------- TensorFlow.js

interface TfCell {
  /** W_inᵀ [I, N] and W_DAᵀ [N, 1], so that both products are plain matMuls. */
  winT: TF.Tensor;
  bIn: TF.Tensor;
  w: TF.Tensor;
  alpha: TF.Tensor;
  wDAT: TF.Tensor;
  bDA: TF.Tensor;
  eta: TF.Tensor;
}

/** One step of the module's math; `update` false skips the trace update (the episode's last step). */
function tfStep(tf: typeof TF, rule: StepRule, c: TfCell, h0: TF.Tensor, traces: TF.Tensor[], x: TF.Tensor, update = true): [TF.Tensor, TF.Tensor[]] {
  const [batch, n] = h0.shape;
  const [p, e] = traces;
  const weff = tf.add(c.w, tf.mul(c.alpha, p)); // [B, N, N]
  const rec = tf.reshape(tf.matMul(weff, tf.expandDims(h0, 2)), [batch, n]);
  const h = tf.tanh(tf.add(tf.add(tf.matMul(x, c.winT), c.bIn), rec));
  if (!update) return [h, traces];
  const m = tf.reshape(tf.tanh(tf.add(tf.matMul(h, c.wDAT), c.bDA)), [batch, 1, 1]);
  const delta = tf.mul(tf.expandDims(h, 2), tf.expandDims(h0, 1));
  if (rule === 'neuromodulated') return [h, [tf.clipByValue(tf.add(p, tf.mul(m, delta)), -1, 1)]];
  const pNext = tf.clipByValue(tf.add(p, tf.mul(m, e)), -1, 1);
  const eNext = tf.add(tf.mul(e, tf.sub(1, c.eta)), tf.mul(c.eta, delta));
  return [h, [pNext, eNext]];
}

function tfPlastic(lib: Lib, tf: typeof TF): PlasticLib {
  const upload = async ({ n, inputSize }: StepSpec, p: CellParams): Promise<TfCell> => {
    await lib.activate?.(); // tensors are created on the active backend
    return {
      winT: tf.tensor(transpose(p.win, n, inputSize), [inputSize, n]),
      bIn: tf.tensor(p.bIn, [n]),
      w: tf.tensor(p.w, [n, n]),
      alpha: tf.tensor(p.alpha, [n, n]),
      wDAT: tf.tensor(p.wDA, [n, 1]),
      bDA: tf.tensor(p.bDA, [1]),
      eta: tf.tensor(p.eta, [1]),
    };
  };
  const zeroState = ({ rule, batch, n }: StepSpec): [TF.Tensor, TF.Tensor[]] => [
    tf.zeros([batch, n]),
    (rule === 'retroactive' ? [0, 1] : [0]).map(() => tf.zeros([batch, n, n])),
  ];
  /** loss(w, α[, η]) over the episode, for tf.valueAndGrads. */
  const episodeLoss = (spec: StepSpec, c: TfCell, xs: TF.Tensor[]) => (w: TF.Tensor, alpha: TF.Tensor, eta?: TF.Tensor) => {
    const cell = { ...c, w, alpha, eta: eta ?? c.eta };
    let [h, traces] = zeroState(spec);
    let loss: TF.Tensor | null = null;
    for (let t = 0; t < xs.length; t++) {
      [h, traces] = tfStep(tf, spec.rule, cell, h, traces, xs[t], t < xs.length - 1);
      // a chain of adds: tf.addN over T inputs binds T buffers, over WebGPU's limit per shader
      loss = loss ? tf.add(loss, tf.sum(h)) : tf.sum(h);
    }
    return loss as TF.Scalar;
  };
  const differentiated = (spec: StepSpec, c: TfCell) => (spec.rule === 'retroactive' ? [c.w, c.alpha, c.eta] : [c.w, c.alpha]);
  const inputs = (spec: StepSpec, xs: readonly F32[]) => xs.map((x) => tf.tensor(x, [spec.batch, spec.inputSize]));
  const release = (c: TfCell, xs: TF.Tensor[]) => tf.dispose([...Object.values(c), ...xs]);

  return {
    name: lib.name,
    kind: lib.kind,
    adapter: lib.adapter,
    activate: lib.activate,
    flush: lib.flush,
    sync: lib.sync,
    destroy: lib.destroy,
    async step(spec, p, xData) {
      const c = await upload(spec, p);
      const [x] = inputs(spec, [xData]);
      let state = zeroState(spec);
      return {
        run: () => {
          const next = tf.tidy(() => {
            const [h, traces] = tfStep(tf, spec.rule, c, state[0], state[1], x);
            return [h, ...traces];
          });
          tf.dispose([state[0], ...state[1]]);
          state = [next[0], next.slice(1)];
        },
        dispose: () => {
          tf.dispose([state[0], ...state[1]]);
          release(c, [x]);
        },
      };
    },
    async episode(spec, p, xData) {
      const c = await upload(spec, p);
      const xs = inputs(spec, xData);
      const fn = tf.valueAndGrads(episodeLoss(spec, c, xs));
      return { run: () => tf.tidy(() => void fn(differentiated(spec, c))), dispose: () => release(c, xs) };
    },
    async values(spec, p, xData) {
      const c = await upload(spec, p);
      const xs = inputs(spec, xData);
      const { value, grads } = tf.valueAndGrads(episodeLoss(spec, c, xs))(differentiated(spec, c));
      const loss = (await value.data())[0];
      const g = await Promise.all(grads.map(async (t) => new Float32Array(await t.data())));
      tf.dispose([value, ...grads]);
      release(c, xs);
      return { loss, grads: g };
    },
  };
}

// ---------------------------------------------------------------- jax-js

type JaxCell = {
  winT: Jax.Array;
  bIn: Jax.Array;
  w: Jax.Array;
  alpha: Jax.Array;
  wDAT: Jax.Array;
  bDA: Jax.Array;
  /** Retroactive only. */
  eta?: Jax.Array;
};

/**
 * The same step in jax-js. jax-js counts references: every call consumes its array arguments, so
 * a value used again is passed as `.ref`. This consumes h0, traces and x, and borrows the cell.
 */
function jaxStep(np: typeof Jax.numpy, rule: StepRule, c: JaxCell, h0: Jax.Array, traces: Jax.Array[], x: Jax.Array, update = true): [Jax.Array, Jax.Array[]] {
  const [batch, n] = h0.shape;
  const [p, e] = traces;
  const weff = c.w.ref.add(c.alpha.ref.mul(p.ref)); // [B, N, N]
  const rec = np.matmul(weff, np.expandDims(h0.ref, 2)).reshape([batch, n]);
  const h = np.tanh(np.matmul(x, c.winT.ref).add(c.bIn.ref).add(rec));
  if (!update) {
    h0.dispose();
    return [h, traces];
  }
  const m = np.tanh(np.matmul(h.ref, c.wDAT.ref).add(c.bDA.ref)).reshape([batch, 1, 1]);
  const delta = np.expandDims(h.ref, 2).mul(np.expandDims(h0, 1));
  if (rule === 'neuromodulated') return [h, [np.clip(p.add(m.mul(delta)), -1, 1)]];
  const eta = c.eta!;
  const pNext = np.clip(p.add(m.mul(e.ref)), -1, 1);
  const eNext = e.mul(np.subtract(1, eta.ref)).add(eta.ref.mul(delta));
  return [h, [pNext, eNext]];
}

function jaxPlastic(lib: Omit<PlasticLib, 'step' | 'episode' | 'values'>, jax: typeof Jax, device: 'webgpu' | 'wasm', realize: (x: Jax.Array) => void): PlasticLib {
  const np = jax.numpy;
  const put = (data: F32, shape: number[]) => np.array(data, { shape, device });
  const upload = ({ rule, n, inputSize }: StepSpec, p: CellParams): JaxCell => ({
    winT: put(transpose(p.win, n, inputSize), [inputSize, n]),
    bIn: put(p.bIn, [n]),
    w: put(p.w, [n, n]),
    alpha: put(p.alpha, [n, n]),
    wDAT: put(p.wDA, [n, 1]),
    bDA: put(p.bDA, [1]),
    ...(rule === 'retroactive' ? { eta: put(p.eta, [1]) } : {}),
  });
  const refs = (c: JaxCell): JaxCell => ({
    winT: c.winT.ref, bIn: c.bIn.ref, w: c.w.ref, alpha: c.alpha.ref, wDAT: c.wDAT.ref, bDA: c.bDA.ref,
    ...(c.eta ? { eta: c.eta.ref } : {}),
  });
  const arrays = (c: JaxCell): Jax.Array[] => Object.values(c);
  const dispose = (xs: Jax.Array[]) => xs.forEach((a) => a.dispose());
  const zeroState = ({ rule, batch, n }: StepSpec): [Jax.Array, Jax.Array[]] => [
    np.zeros([batch, n], { device }),
    (rule === 'retroactive' ? [0, 1] : [0]).map(() => np.zeros([batch, n, n], { device })),
  ];

  // The episode takes the differentiated parameters (w, α[, η]) as its first argument.
  type Fixed = { winT: Jax.Array; bIn: Jax.Array; wDAT: Jax.Array; bDA: Jax.Array };
  const episodeFn = (spec: StepSpec) =>
    jax.jit(
      jax.valueAndGrad((diff: Jax.Array[], fixed: Fixed, xs: Jax.Array[]) => {
        const [w, alpha, eta] = diff;
        const cell: JaxCell = { ...fixed, w, alpha, ...(eta ? { eta } : {}) };
        let [h, traces] = zeroState(spec);
        let loss: Jax.Array | null = null;
        for (let t = 0; t < xs.length; t++) {
          [h, traces] = jaxStep(np, spec.rule, cell, h, traces, xs[t], t < xs.length - 1);
          loss = loss ? loss.add(h.ref.sum()) : h.ref.sum();
        }
        dispose([h, ...traces, ...arrays(cell)]);
        return loss!;
      }),
    );
  const callEpisode = (fn: ReturnType<typeof episodeFn>, c: JaxCell, xs: Jax.Array[]) => {
    const diff = [c.w.ref, c.alpha.ref, ...(c.eta ? [c.eta.ref] : [])];
    return fn(diff, { winT: c.winT.ref, bIn: c.bIn.ref, wDAT: c.wDAT.ref, bDA: c.bDA.ref }, xs.map((x) => x.ref));
  };
  const inputs = (spec: StepSpec, xs: readonly F32[]) => xs.map((x) => put(x, [spec.batch, spec.inputSize]));

  return {
    ...lib,
    async step(spec, p, xData) {
      const c = upload(spec, p);
      const [x] = inputs(spec, [xData]);
      const fn = jax.jit((cell: JaxCell, h: Jax.Array, traces: Jax.Array[], xt: Jax.Array) => {
        const out = jaxStep(np, spec.rule, cell, h, traces, xt);
        dispose(arrays(cell));
        return out;
      });
      let [h, traces] = zeroState(spec);
      return {
        run: () => {
          [h, traces] = fn(refs(c), h, traces, x.ref);
          realize(h.ref);
        },
        dispose: () => {
          dispose([h, ...traces, ...arrays(c), x]);
          fn.dispose();
        },
      };
    },
    async episode(spec, p, xData) {
      const c = upload(spec, p);
      const xs = inputs(spec, xData);
      const fn = episodeFn(spec);
      return {
        run: () => {
          const [loss, grads] = callEpisode(fn, c, xs);
          realize(loss);
          dispose(grads);
        },
        dispose: () => {
          dispose([...arrays(c), ...xs]);
          fn.dispose();
        },
      };
    },
    async values(spec, p, xData) {
      const c = upload(spec, p);
      const xs = inputs(spec, xData);
      const fn = episodeFn(spec);
      const [loss, grads] = callEpisode(fn, c, xs);
      const out = { loss: (await loss.data())[0], grads: await Promise.all(grads.map(async (g) => new Float32Array(await g.data()))) };
      dispose([...arrays(c), ...xs]);
      fn.dispose();
      return out;
    },
  };
}
