/**
 * The LSTM layers of Table 1, at tiny sizes (N = 5 too: the layers run zero-padded to N = 8):
 * - forward: the layer against a plain-JS transcription of the authors' PlasticLSTM equations in
 *   their layout (h_{t−1}ᵀ(w + α⊙Hebb), Hebb[pre, post]), so the pending-update bookkeeping and
 *   our transposed layout are checked against the paper, not against ourselves; the baseline
 *   layer against the LSTM equations;
 * - backward, on the float64 CPU: the whole language model on the fused plasticStep against the
 *   same model on plasticStepReference, and both (and the baseline LSTM) against central finite
 *   differences;
 * - the same model and gradients on the WebGPU backend (float32) against the float64 CPU;
 * - the paper's per-connection η and fan-out (reference composition only) in all three, and the
 *   errors that keep it off the fused kernels.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { LanguageModel, type LmCell, type LmState } from '../src/models/lm.js';
import { LSTMLayer } from '../src/models/lstm.js';
import { PlasticLSTMLayer, type LstmPlasticity } from '../src/models/plastic_lstm.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';

const { cpu64 } = await getTestBackends();
beforeAll(() => bp.setBackend(cpu64));

/** Uniform draws in ±scale from a seeded generator. */
function draws(rng: bp.Rng, n: number, scale: number): number[] {
  return Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

function setParams(m: bp.Module, rng: bp.Rng, scale: (name: string) => number): void {
  for (const [name, p] of m.namedParameters()) bp.assign(p, { data: Float64Array.from(draws(rng, p.size, scale(name))), shape: p.shape });
}

const sig = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * The authors' PlasticLSTM (PAPER.md §2.3(b)) for one batch element, in their layout: the plastic
 * matrix is indexed [pre k, post j] and multiplies h_{t−1} from the left. Built from our parameters
 * by transposing w and α. Returns every h_t and the final Hebb (after the last step's update).
 */
function authorsLayer(params: Record<string, Float64Array>, plasticity: LstmPlasticity, alphaFull: boolean, perConnection: boolean, xs: number[][], n: number, inSize: number) {
  const W = params['x2h.weight'], bx = params['x2h.bias'], U = params['h2h.weight'], bh = params['h2h.bias'];
  const wA = (k: number, j: number) => params.w[j * n + k];
  const alphaA = (k: number, j: number) => (alphaFull ? params.alpha[j * n + k] : params.alpha[j]);
  const hebb = Array.from({ length: n }, () => new Array<number>(n).fill(0)); // [pre][post]
  const elig = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let h = new Array<number>(n).fill(0);
  let c = new Array<number>(n).fill(0);
  const hs: number[][] = [];
  const xRow = (r: number, x: number[]) => bx[r] + x.reduce((acc, v, q) => acc + W[r * inSize + q] * v, 0);
  const hRow = (r: number) => bh[r] + h.reduce((acc, v, q) => acc + U[r * n + q] * v, 0);
  for (const x of xs) {
    const gate = (g: number, j: number) => sig(xRow(g * n + j, x) + hRow(g * n + j)); // rows (i, f, o)
    const ct = Array.from({ length: n }, (_, j) => {
      let s = xRow(3 * n + j, x);
      for (let k = 0; k < n; k++) s += h[k] * (wA(k, j) + alphaA(k, j) * hebb[k][j]);
      return Math.tanh(s);
    });
    const cNew = c.map((cj, j) => gate(1, j) * cj + gate(0, j) * ct[j]);
    const hNew = cNew.map((cj, j) => gate(2, j) * Math.tanh(cj));
    // η(k, j): one scalar (or one per connection), or the fan-out of m = tanh(w_mod·h_t + b_mod)
    // per postsynaptic neuron j (or per connection); per-connection parameters are ours, [post, pre].
    const at = (j: number, k: number) => (perConnection ? j * n + k : j);
    let eta: (k: number, j: number) => number;
    if (plasticity === 'hebbian') eta = (k, j) => params.eta[perConnection ? j * n + k : 0];
    else {
      const m = Math.tanh(params['h2mod.bias'][0] + hNew.reduce((acc, v, q) => acc + params['h2mod.weight'][q] * v, 0));
      eta = (k, j) => params['modfanout.weight'][at(j, k)] * m + params['modfanout.bias'][at(j, k)];
    }
    for (let k = 0; k < n; k++) {
      for (let j = 0; j < n; j++) {
        const delta = h[k] * ct[j];
        const inc = plasticity === 'retroactive' ? eta(k, j) * elig[k][j] : eta(k, j) * delta;
        hebb[k][j] = Math.min(2, Math.max(-2, hebb[k][j] + inc));
        if (plasticity === 'retroactive') elig[k][j] = (1 - params.etaet[0]) * elig[k][j] + params.etaet[0] * delta;
      }
    }
    [h, c] = [hNew, cNew];
    hs.push(h);
  }
  return { hs, hebb };
}

describe('PlasticLSTMLayer forward against the authors\' equations', () => {
  const [B, IN, T] = [2, 3, 6];
  for (const plasticity of ['hebbian', 'neuromodulated', 'retroactive'] as const) {
    // N = 5 also: the fused kernels run the layer zero-padded to N = 8 (the per-connection η runs the reference).
    for (const [alpha, fanout, N] of [['neuron', 'neuron', 4], ['full', 'neuron', 4], ['full', 'connection', 4], ['neuron', 'neuron', 5], ['full', 'neuron', 5]] as const) {
      test(`${plasticity}, N = ${N}, ${alpha} α, η per ${fanout}: every h_t and the trace agree (clip ±2 active)`, async () => {
        const rng = new bp.Rng(11);
        const layer = new PlasticLSTMLayer({ inputSize: IN, hiddenSize: N, plasticity, alpha, fanout, rng });
        // Large α, η and fan-out, so that plasticity changes h and the ±2 clip engages.
        setParams(layer, rng, (name) => (name === 'alpha' ? 1.5 : name === 'etaet' ? 0.9 : name.startsWith('modfanout') ? 6 : 1.2));
        // η of 1.5, or per connection of either sign with |η| in [1, 2).
        if (layer.eta) {
          const etas = layer.eta.size === 1 ? [1.5] : draws(rng, layer.eta.size, 1).map((u) => Math.sign(u) + u);
          bp.assign(layer.eta, { data: Float64Array.from(etas), shape: layer.eta.shape });
        }
        const params = Object.fromEntries(await Promise.all(layer.namedParameters().map(async ([k, p]) => [k, Float64Array.from(await p.data())] as const)));
        const xs = draws(rng, T * B * IN, 1.5);
        const out = layer.forward(bp.tensor(xs, [T * B, IN]), T, layer.initialState(B), false);
        // Our hebb holds the updates of steps 1..T−1; step T's is pending. Apply it to compare the
        // final trace (with the reference step: the fused update takes no per-connection η).
        // The state is at the layer's step width (8 for N = 5): its first N rows and columns.
        const narrow = (t: bp.Tensor) => bp.slice(t, t.shape.map(() => 0), [t.shape[0], ...t.shape.slice(1).map(() => N)]);
        const p = out.state.pending!;
        const cfg = { rule: plasticity === 'retroactive' ? 'retroactive' : 'hebbian', clipValue: 2 } as const;
        const zero = bp.zeros([N, N]);
        const pre = narrow(p.pre);
        const finalHebb = bp.plasticStepReference(cfg, {
          hebb: narrow(out.state.hebb!), elig: out.state.elig && narrow(out.state.elig), pre, post: narrow(p.post), mod: p.mod.rank === 2 ? narrow(p.mod) : p.mod,
          eta: layer.etaet, x: pre, drive: pre, w: zero, alpha: zero,
        }).hebb;
        const ours = await out.output.data();
        const ourHebb = await finalHebb.data();
        let clipped = 0;
        for (let b = 0; b < B; b++) {
          const ref = authorsLayer(params, plasticity, alpha === 'full', fanout === 'connection', Array.from({ length: T }, (_, t) => xs.slice((t * B + b) * IN, (t * B + b + 1) * IN)), N, IN);
          for (let t = 0; t < T; t++) for (let j = 0; j < N; j++) expect(ours[(t * B + b) * N + j]).toBeCloseTo(ref.hs[t][j], 12);
          for (let k = 0; k < N; k++) {
            for (let j = 0; j < N; j++) {
              expect(ourHebb[(b * N + j) * N + k]).toBeCloseTo(ref.hebb[k][j], 12); // ours [post, pre]
              if (Math.abs(ref.hebb[k][j]) === 2) clipped++;
            }
          }
        }
        if (plasticity !== 'retroactive') expect(clipped).toBeGreaterThan(0);
        layer.dispose();
      });
    }
  }
});

describe('LSTMLayer forward against the LSTM equations', () => {
  const [B, IN, T] = [2, 3, 6];
  // N = 5: the layer runs zero-padded to N = 8.
  for (const N of [4, 5]) {
    test(`N = ${N}: every h_t and the final c agree`, async () => {
      const rng = new bp.Rng(13);
      const layer = new LSTMLayer(IN, N, rng);
      setParams(layer, rng, () => 1.2);
      const [wx, bx, wh, bh] = await Promise.all([layer.x2h.weight, layer.x2h.bias!, layer.h2h.weight, layer.h2h.bias!].map(async (p) => Float64Array.from(await p.data())));
      const xs = draws(rng, T * B * IN, 1.5);
      const out = layer.forward(bp.tensor(xs, [T * B, IN]), T, layer.initialState(B));
      // The state is at the layer's step width (8 for N = 5): its first N columns.
      const [hs, cs] = [await out.output.data(), await bp.slice(out.state.c, [0, 0], [B, N]).data()];
      for (let b = 0; b < B; b++) {
        let [h, c] = [new Array<number>(N).fill(0), new Array<number>(N).fill(0)];
        for (let t = 0; t < T; t++) {
          const x = xs.slice((t * B + b) * IN, (t * B + b + 1) * IN);
          // Rows (i, f, o, g) of W_x·x + b_x + W_h·h + b_h.
          const pre = Array.from({ length: 4 * N }, (_, r) => bx[r] + bh[r] + x.reduce((a, v, k) => a + wx[r * IN + k] * v, 0) + h.reduce((a, v, k) => a + wh[r * N + k] * v, 0));
          c = c.map((cj, j) => sig(pre[N + j]) * cj + sig(pre[j]) * Math.tanh(pre[3 * N + j]));
          h = c.map((cj, j) => sig(pre[2 * N + j]) * Math.tanh(cj));
          for (let j = 0; j < N; j++) expect(hs[(t * B + b) * N + j]).toBeCloseTo(h[j], 12);
        }
        for (let j = 0; j < N; j++) expect(cs[b * N + j]).toBeCloseTo(c[j], 12);
      }
      layer.dispose();
    });
  }
});

describe('per-connection η stays off the fused kernels', () => {
  test('plasticStep and hebbUpdate name the modulation shape and the op that takes it; the layer refuses kernel fused', () => {
    const [b, n] = [2, 3];
    const v = bp.zeros([b, n]);
    const h = bp.zeros([b, n, n]);
    const mod = bp.zeros([b, n, n]);
    const cfg = { rule: 'hebbian' } as const;
    const args = { hebb: h, pre: v, post: v, mod, x: v, drive: v, w: bp.zeros([n, n]), alpha: bp.zeros([n, n]) };
    expect(() => bp.plasticStep(cfg, args)).toThrow('plasticStep: a per-connection modulation [2,3,3] runs only in plasticStepReference');
    expect(() => bp.hebbUpdate(cfg, { hebb: h, pre: v, post: v, mod })).toThrow('hebbUpdate: a per-connection modulation [2,3,3]');
    expect(() => new PlasticLSTMLayer({ inputSize: 2, hiddenSize: n, plasticity: 'neuromodulated', fanout: 'connection', kernel: 'fused', rng: new bp.Rng(1) })).toThrow(
      "fanout 'connection' needs kernel 'reference'",
    );
    bp.dispose([v, h, mod, args.w, args.alpha]);
  });
});

// ---------------------------------------------------------------- gradients of the whole model

const [V, E, B, T] = [5, 3, 2, 3];

interface Variant {
  cell: LmCell;
  /** Hidden size (default 4); 5 runs the fused kernels on the layer zero-padded to 8. */
  n?: number;
  alpha: 'neuron' | 'full';
  /** The paper's per-connection η and fan-out: the reference composition only. */
  fanout?: 'connection';
}

/** A variant's hidden size. */
const hiddenOf = (v: Variant) => v.n ?? 4;

/** The kernel a variant runs by default: the fused one, or the reference for a per-connection fan-out. */
const ownKernel = (v: Variant) => (v.fanout === 'connection' ? 'reference' : 'fused');

function makeModel(v: Variant, kernel: 'fused' | 'reference', checkpointEvery = 1): LanguageModel {
  const rng = new bp.Rng(5);
  const m = new LanguageModel({
    vocabSize: V, embeddingSize: E, hiddenSize: hiddenOf(v), numLayers: 2, tied: false, cell: v.cell, alpha: v.alpha, fanout: v.fanout, rng,
    plastic: { kernel, checkpointEvery },
  });
  // Plasticity as large as the rest, with modulation of both signs.
  setParams(m, new bp.Rng(6), (name) => (name.endsWith('alpha') ? 1 : name.endsWith('eta') || name.endsWith('etaet') ? 0.5 : 0.7));
  return m;
}

/** A carried state as in mid-epoch: traces near the clip bound and a pending update with mixed-sign modulation. */
function carriedState(v: Variant): LmState {
  const N = hiddenOf(v);
  const rng = new bp.Rng(7);
  const t = (shape: number[], scale: number) => bp.keep(bp.tensor(draws(rng, shape.reduce((a, b) => a * b, 1), scale), shape));
  return [0, 1].map(() => ({
    h: t([B, N], 0.9),
    c: t([B, N], 1.5),
    hebb: v.cell === 'lstm' ? null : t([B, N, N], 2.5),
    elig: v.cell === 'retroactive' ? t([B, N, N], 1) : null,
    pending: v.cell === 'lstm' ? null : { pre: t([B, N], 0.9), post: t([B, N], 0.9), mod: pendingMod(v, t) },
  }));
}

/** The carried modulation: η or the fan-out's output, per neuron or per connection. */
function pendingMod(v: Variant, t: (shape: number[], scale: number) => bp.Tensor): bp.Tensor {
  const perConnection = v.fanout === 'connection';
  const N = hiddenOf(v);
  if (v.cell === 'hebbian') return perConnection ? t([N, N], 0.5) : t([1], 0.5);
  return perConnection ? t([B, N, N], 1.5) : t([B, N], 1.5);
}

const INPUTS = Int32Array.from([0, 3, 1, 4, 2, 2]);
const TARGETS = Int32Array.from([3, 1, 4, 2, 2, 0]);

/** Σ CE over the segment plus ⟨final traces, fixed cotangents⟩, so gradients also flow through the last updates. */
function loss(m: LanguageModel, v: Variant): bp.Tensor {
  const state = carriedState(v);
  const f = m.forward(INPUTS, T, state, null);
  let l = bp.crossEntropy(f.logits, TARGETS, { reduction: 'sum' });
  const rng = new bp.Rng(8);
  const n = hiddenOf(v);
  for (const s of f.state) {
    for (const wide of [s.hebb, s.elig]) {
      // The traces are at the layer's step width (8 for N = 5, fused): their first N rows and columns.
      const tr = wide && bp.slice(wide, [0, 0, 0], [B, n, n]);
      if (tr) l = bp.add(l, bp.sum(bp.mul(tr, bp.tensor(draws(rng, tr.size, 1), tr.shape))));
    }
  }
  for (const s of state) for (const x of [s.h, s.c, s.hebb, s.elig, s.pending?.pre, s.pending?.post, s.pending?.mod]) x?.dispose();
  return l;
}

async function gradients(m: LanguageModel, v: Variant): Promise<{ value: number; grads: Map<string, Float64Array> }> {
  const l = bp.tidy(() => {
    const l = loss(m, v);
    m.zeroGrad();
    l.backward();
    return l;
  });
  const grads = new Map<string, Float64Array>();
  for (const [k, p] of m.namedParameters()) grads.set(k, Float64Array.from(await p.grad!.data()));
  const value = await l.item();
  l.dispose();
  return { value, grads };
}

/** Central differences of the loss at up to `per` entries of every parameter. */
async function finiteDifferences(m: LanguageModel, v: Variant, per: number): Promise<Map<string, Map<number, number>>> {
  const eps = 1e-6;
  const value = async () => {
    const l = bp.noGrad(() => bp.tidy(() => loss(m, v)));
    const x = await l.item();
    l.dispose();
    return x;
  };
  const out = new Map<string, Map<number, number>>();
  const rng = new bp.Rng(9);
  for (const [k, p] of m.namedParameters()) {
    const data = Float64Array.from(await p.data());
    const idx = p.size <= per ? [...Array(p.size).keys()] : Array.from({ length: per }, () => rng.int(p.size));
    const fd = new Map<number, number>();
    for (const i of idx) {
      const x0 = data[i];
      data[i] = x0 + eps;
      bp.assign(p, { data, shape: p.shape });
      const up = await value();
      data[i] = x0 - eps;
      bp.assign(p, { data, shape: p.shape });
      const down = await value();
      data[i] = x0;
      bp.assign(p, { data, shape: p.shape });
      fd.set(i, (up - down) / (2 * eps));
    }
    out.set(k, fd);
  }
  return out;
}

const VARIANTS: Variant[] = [
  { cell: 'lstm', alpha: 'neuron' },
  { cell: 'lstm', alpha: 'neuron', n: 5 },
  { cell: 'hebbian', alpha: 'full' },
  { cell: 'hebbian', alpha: 'neuron' },
  { cell: 'neuromodulated', alpha: 'full' },
  { cell: 'neuromodulated', alpha: 'neuron' },
  { cell: 'retroactive', alpha: 'full' },
  { cell: 'retroactive', alpha: 'neuron' },
  { cell: 'hebbian', alpha: 'full', fanout: 'connection' },
  { cell: 'neuromodulated', alpha: 'full', fanout: 'connection' },
  { cell: 'retroactive', alpha: 'neuron', fanout: 'connection' },
  { cell: 'hebbian', alpha: 'neuron', n: 5 },
  { cell: 'neuromodulated', alpha: 'full', n: 5 },
  { cell: 'retroactive', alpha: 'neuron', n: 5 },
];

const variantName = (v: Variant) =>
  `${v.cell === 'lstm' ? 'baseline LSTM' : `${v.cell}, ${v.alpha} α${v.fanout === 'connection' ? ', per-connection η' : ''}`}${v.n ? `, N = ${v.n}` : ''}`;

describe('language-model gradients (float64 CPU)', () => {
  for (const v of VARIANTS) {
    const compared = v.cell !== 'lstm' && ownKernel(v) === 'fused';
    test(`${variantName(v)}: analytic gradients match finite differences${compared ? '; fused = reference' : ''}`, async () => {
      const fused = makeModel(v, ownKernel(v));
      const a = await gradients(fused, v);
      if (compared) {
        for (const [kernel, every] of [['reference', 1], ['fused', 2]] as const) {
          const other = makeModel(v, kernel, every);
          const b = await gradients(other, v);
          expect(b.value).toBeCloseTo(a.value, 11);
          for (const [k, g] of a.grads) {
            const h = b.grads.get(k)!;
            for (let i = 0; i < g.length; i++) expect(Math.abs(h[i] - g[i]), `${kernel}/${every} ${k}[${i}]`).toBeLessThan(1e-10 * (1 + Math.abs(g[i])));
          }
          other.dispose();
        }
      }
      const fd = await finiteDifferences(fused, v, 6);
      let checked = 0;
      for (const [k, entries] of fd) {
        for (const [i, d] of entries) {
          expect(Math.abs(a.grads.get(k)![i] - d), `${k}[${i}]: analytic ${a.grads.get(k)![i]}, numeric ${d}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(d));
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(50);
      fused.dispose();
    });
  }
});

describeWebGPU('language-model gradients against the float64 CPU', (gpu, cpu) => {
  for (const v of VARIANTS) {
    test(`${variantName(v)}: loss and every gradient agree (float32)`, async () => {
      const run = async (backend: typeof gpu) => {
        bp.setBackend(backend);
        const m = makeModel(v, ownKernel(v));
        const r = await gradients(m, v);
        m.dispose();
        return r;
      };
      const want = await run(cpu);
      const got = await run(gpu);
      bp.setBackend(cpu);
      expect(Math.abs(got.value - want.value)).toBeLessThan(1e-4 * (1 + Math.abs(want.value)));
      for (const [k, g] of want.grads) {
        const h = got.grads.get(k)!;
        for (let i = 0; i < g.length; i++) expect(Math.abs(h[i] - g[i]), `${k}[${i}]: webgpu ${h[i]}, cpu ${g[i]}`).toBeLessThan(2e-4 + 2e-3 * Math.abs(g[i]));
      }
    });
  }
});
