/**
 * PlasticRNN: the authors' parameter names, shapes and counts; safetensors state dicts in both
 * directions; the fused model against the same model on the reference composition; checkpointed
 * traces against stored ones.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { PlasticRNN, type Plasticity, type PlasticRNNOptions } from '../src/models/plastic_rnn.js';

beforeAll(() => bp.setBackend(new CpuBackend('f64')));

const make = (plasticity: Plasticity, extra: Partial<PlasticRNNOptions> = {}) =>
  new PlasticRNN({ inputSize: 27, hiddenSize: 200, numActions: 2, plasticity, rng: new bp.Rng(3), ...extra });

const count = (net: PlasticRNN) => net.parameters().reduce((acc, p) => acc + p.size, 0);

describe('PlasticRNN parameters', () => {
  test('parameter counts equal those of the authors\' cue-reward networks (PAPER.md §2.1)', () => {
    const expected: Record<Plasticity, number> = { none: 46_203, hebbian: 86_204, neuromodulated: 86_405, retroactive: 86_406 };
    for (const [plasticity, n] of Object.entries(expected)) {
      const net = make(plasticity as Plasticity, { unusedEta: true });
      expect(count(net), plasticity).toBe(n);
      net.dispose();
    }
  });

  test('names and shapes follow the authors\' modules', () => {
    const net = make('retroactive', { modulator: 'fanout', unusedEta: true });
    const shapes = Object.fromEntries(net.namedParameters().map(([k, t]) => [k, t.shape]));
    expect(shapes).toEqual({
      'i2h.weight': [200, 27], 'i2h.bias': [200], w: [200, 200], alpha: [200, 200], eta: [1], etaet: [1],
      'h2DA.weight': [1, 200], 'h2DA.bias': [1], 'modfanout.weight': [200, 1], 'modfanout.bias': [200],
      'h2o.weight': [2, 200], 'h2o.bias': [2], 'h2v.weight': [1, 200], 'h2v.bias': [1],
    });
    net.dispose();
  });

  test('w and alpha start in 0.01·U[0,1); eta at its initial value', async () => {
    const net = make('hebbian', { etaInit: 0.01 });
    for (const p of [net.w, net.alpha!]) {
      const v = await p.data();
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThan(0.01);
      expect(Math.max(...v)).toBeGreaterThan(0.009);
    }
    expect(await net.eta!.item()).toBeCloseTo(0.01, 12);
    net.dispose();
  });
});

/** Runs an episode of random inputs and returns the loss and every parameter's gradient. */
async function episode(net: PlasticRNN, steps: number, seed: number) {
  const rng = new bp.Rng(seed);
  const batch = 3;
  const loss = bp.tidy(() => {
    let state = net.initialState(batch);
    let total = bp.scalar(0);
    for (let t = 0; t < steps; t++) {
      const x = bp.tensor(Array.from({ length: batch * net.opts.inputSize }, () => rng.uniform() * 2 - 1), [batch, net.opts.inputSize]);
      const out = net.step(x, state);
      state = out.state;
      const mod = out.modulator ? bp.sum(out.modulator) : bp.scalar(0);
      total = bp.add(total, bp.add(bp.add(bp.sum(bp.logSoftmax(out.logits)), bp.sum(out.value)), mod));
    }
    net.zeroGrad();
    total.backward();
    state.tape?.clear();
    return total;
  });
  const grads = new Map<string, Float32Array | Float64Array>();
  for (const [k, p] of net.namedParameters()) if (p.grad) grads.set(k, await p.grad.data());
  const value = await loss.item();
  loss.dispose();
  return { value, grads };
}

describe('PlasticRNN steps', () => {
  const small = (plasticity: Plasticity, extra: Partial<PlasticRNNOptions> = {}) =>
    new PlasticRNN({ inputSize: 5, hiddenSize: 13, numActions: 4, plasticity, rng: new bp.Rng(7), etaInit: 0.3, ...extra });

  for (const plasticity of ['hebbian', 'neuromodulated', 'retroactive'] as Plasticity[]) {
    for (const modulator of plasticity === 'hebbian' ? ['scalar'] : ['scalar', 'fanout']) {
      test(`${plasticity} (${modulator}): fused = reference composition, checkpointed = stored`, async () => {
        const nets = [
          small(plasticity, { modulator: modulator as 'scalar' | 'fanout' }),
          small(plasticity, { modulator: modulator as 'scalar' | 'fanout', kernel: 'reference' }),
          small(plasticity, { modulator: modulator as 'scalar' | 'fanout', checkpointEvery: 4 }),
        ];
        const [fused, reference, checkpointed] = await Promise.all(nets.map((n) => episode(n, 12, 5)));
        for (const other of [reference, checkpointed]) {
          expect(other.value).toBeCloseTo(fused.value, 9);
          expect([...other.grads.keys()]).toEqual([...fused.grads.keys()]);
          for (const [k, g] of fused.grads) {
            const o = other.grads.get(k)!;
            const worst = Math.max(...g.map((v, i) => Math.abs(v - o[i]) / (1e-9 + Math.abs(v))));
            expect(worst, k).toBeLessThan(1e-6);
          }
        }
        // Every parameter receives a gradient.
        expect([...fused.grads.keys()].sort()).toEqual(nets[0].namedParameters().map(([k]) => k).sort());
        nets.forEach((n) => n.dispose());
      });
    }
  }

  test('state dicts round-trip through a safetensors checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bp-rnn-'));
    const a = small('retroactive', { modulator: 'fanout' });
    const b = new PlasticRNN({ ...a.opts, rng: new bp.Rng(99) });
    await bp.saveCheckpoint(join(dir, 'net.safetensors'), a.stateDict());
    const { tensors } = await bp.loadCheckpoint(join(dir, 'net.safetensors'));
    b.loadStateDict(tensors);
    const [ea, eb] = [await episode(a, 5, 11), await episode(b, 5, 11)];
    expect(eb.value).toBe(ea.value);
    // The file is plain safetensors: its JSON header names every parameter with its shape
    // (float64 here, the oracle backend's precision; float32 from WebGPU).
    const bytes = readFileSync(join(dir, 'net.safetensors'));
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8'));
    expect(header['i2h.weight']).toMatchObject({ dtype: 'F64', shape: [13, 5] });
    a.dispose();
    b.dispose();
  });
});

describe('PlasticRNN memory through time', () => {
  test('checkpointing holds fewer traces alive during an episode than storing all', async () => {
    const backend = new CpuBackend('f64');
    bp.setBackend(backend);
    const peak = (every: number) => {
      const net = new PlasticRNN({ inputSize: 3, hiddenSize: 16, numActions: 2, plasticity: 'retroactive', rng: new bp.Rng(1), checkpointEvery: every });
      let most = 0;
      bp.tidy(() => {
        let state = net.initialState(2);
        let total = bp.scalar(0);
        for (let t = 0; t < 24; t++) {
          const out = net.step(bp.full([2, 3], 0.5), state);
          state = out.state;
          total = bp.add(total, bp.sum(out.value));
          most = Math.max(most, backend.memory().bytesInUse);
        }
        total.backward();
      });
      net.dispose();
      return most;
    };
    const all = peak(1);
    const every5 = peak(5);
    // 24 steps of two 2×16×16 traces: storing all keeps ~48, checkpointing ~10 of them.
    expect(all / every5).toBeGreaterThan(2.5);
  });
});
