/**
 * The WGSL plastic kernels (float32) against the float64 CPU oracle:
 *  - unrolled episodes through the autograd op (test/helpers/plastic_unroll.ts) for every variant
 *    of test/plastic.test.ts, plus vec4 sizes (N % 4 = 0): loss and every gradient;
 *  - the checkpointing tape on the GPU against storing every trace;
 *  - hebbUpdate, plasticStep and plasticStepBackward called directly on random non-zero inputs:
 *    every rule and clip kind, every modulation and alpha shape, B = 1, N = 1, N = 67 (neither a
 *    multiple of 4 nor of the workgroup), N = 128, N = 260, N = 261 and N = 1032 (several column
 *    groups of the backward), negative modulation, the clip active on some entries, and null
 *    incoming gradients; on the default backend (with subgroups where the device has them) and on
 *    one without subgroups, whose backward stores the row sums' shares per Chunk.
 * The direct calls' inputs keep every pre-clip trace value at least 1e-3·c away from ±c, so float32
 * rounding cannot flip a clip decision that float64 takes the other way.
 * Without an adapter the suite is skipped, unless BACKPROPAMINE_REQUIRE_WEBGPU=1 makes that fail.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { add, dispose, hebbUpdate, modulator, mul, PlasticRNN, Rng, setBackend, sum, tensor, tidy } from '../src/index.js';
import { plasticStep } from '../src/autograd/ops/plastic.js';
import { PLASTIC_STORAGE_BUFFERS, plasticSources, plasticSourcesOnFirstUse } from '../src/kernels/webgpu/plastic.js';
import { compileKernels, paramsLayout } from '../src/kernels/webgpu/pipelines.js';
import { SUBGROUP_MIN_SIZE } from '../src/kernels/webgpu/device.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import { PLASTIC_DH_PARTS, type Backend, type Buf, type PlasticGeometry, type PlasticKernels, type PlasticStepInputs } from '../src/kernels/backend.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';
import { assertClose, FORWARD_TOL, GRAD_TOL, makeRng, type Tolerance } from './helpers/check_op.js';
import { runEpisode, type EpisodeRun as Run, type StepFn, type Variant } from './helpers/plastic_unroll.js';
import { VARIANTS } from './helpers/plastic_variants.js';

await getTestBackends();

type PlasticBackend = Backend & PlasticKernels;

const fused: StepFn = (cfg, a, tape) => plasticStep(cfg, a, tape);

/** The shared variants run the scalar (Chunk = f32) kernels; these run the vec4 ones. */
const VEC4_VARIANTS: Variant[] = [
  { name: 'vec4: neuromodulated M per episode', cfg: { rule: 'hebbian' }, batch: 5, n: 12, steps: 6, mod: 'episode', alpha: 'full' },
  { name: 'vec4: fan-out, per-neuron alpha, soft clip 2', cfg: { rule: 'hebbian', clip: 'soft', clipValue: 2 }, batch: 2, n: 8, steps: 6, mod: 'neuron', alpha: 'neuron' },
  { name: 'vec4: oja, scalar alpha, B = 1', cfg: { rule: 'oja' }, batch: 1, n: 8, steps: 6, mod: 'global', alpha: 'scalar' },
  { name: 'vec4: retroactive', cfg: { rule: 'retroactive' }, batch: 3, n: 16, steps: 6, mod: 'episode', alpha: 'full' },
];

/** One unrolled episode on `backend` with the fused step. */
const run = (backend: Backend, v: Variant, tapeEvery = 0) => runEpisode(backend, v, fused, tapeEvery);

/**
 * Steps of the unrolled GPU episode where a variant's own count is too long. N = 67 with weights up
 * to ±0.5 is chaotic: float32 roundoff grows about threefold per step (the worst error relative to
 * the tolerance is 0.1 after 3 steps, up to 1.3 after 4 and 6 after 5 across seeds; after 6 steps even
 * the CPU backend in float32 misses float64), so longer episodes would test float32, not the
 * kernels. Every other variant stays below a fifth of the tolerance over its full length.
 */
const GPU_STEPS: Record<string, number> = { 'neuromodulated M per episode': 3 };

function compareRuns(what: string, got: Run, want: Run, tol: Tolerance): void {
  assertClose(`${what}: loss`, [got.loss], [want.loss], tol);
  expect([...got.grads.keys()].sort()).toEqual([...want.grads.keys()].sort());
  for (const [name, g] of want.grads) assertClose(`${what}: grad of ${name}`, got.grads.get(name)!, g, tol);
}

// ---------------------------------------------------------------- direct kernel calls

interface KernelCase {
  g: PlasticGeometry;
  /** Which incoming gradients exist (default all), and h's in how many parts (default 1; 0: none). */
  dhParts?: number;
  dhebb?: boolean;
  delig?: boolean;
}

/** Host inputs of one case, float32-exact, never zero. */
type CaseData = Record<'hebb' | 'elig' | 'pre' | 'post' | 'mod' | 'eta' | 'x' | 'drive' | 'w' | 'alpha' | 'dhebb' | 'delig', number[]> & {
  /** PLASTIC_DH_PARTS parts of h's gradient. */
  dh: number[][];
};

/** Keeps |pre-clip value| − c out of (−GAP·c, GAP·c): float32 and float64 then clip alike. */
const GAP = 1e-3;

function caseData(g: PlasticGeometry, seed: number): CaseData {
  const rng = makeRng(seed);
  const { batch: b, n } = g;
  const sign = () => (rng() < 0.5 ? -1 : 1);
  const draw = (count: number, lo: number, hi: number) => Array.from({ length: count }, () => Math.fround(sign() * (lo + (hi - lo) * rng())));
  const pick = (count: number, values: number[]) => Array.from({ length: count }, () => Math.fround(sign() * values[Math.floor(rng() * values.length)]));
  const c = g.clipValue;
  const rows = b * n;
  const modCount = g.modKind === 'global' ? 1 : g.modKind === 'episode' ? b : rows;
  // The soft clip's value near ±c hardly depends on H (u ∓ c = (H ∓ c)(1 ∓ d/c)), so nothing but
  // the increment d = m·post·pre keeps it away from ±c: for the hebbian soft clip, |d|/c comes from
  // products of these grids, none within 25% of 1 (0.75 and 1.5 are the nearest).
  const grid = g.rule === 'hebbian' && g.clip === 'soft';
  const d: CaseData = {
    // Traces up to the bound and large increments, so that the clip is active on some entries.
    hebb: draw(rows * n, 0.2 * c, 0.95 * c),
    elig: draw(rows * n, 0.1, 1.5),
    pre: grid ? pick(rows, [0.25, 0.5, 1]) : draw(rows, 0.1, 1),
    post: grid ? pick(rows, [0.25, 0.5, 1]) : draw(rows, 0.1, 1),
    mod: grid ? pick(modCount, [0.6 * c, 1.5 * c, 3 * c]) : draw(modCount, 0.2, 1.2 * c),
    eta: [Math.fround(0.1 + 0.5 * rng())],
    x: draw(rows, 0.1, 1),
    drive: draw(rows, 0.1, 1),
    w: draw(n * n, 0.05, 0.5),
    alpha: draw(g.alphaKind === 'full' ? n * n : g.alphaKind === 'neuron' ? n : 1, 0.1, 0.8),
    dh: Array.from({ length: PLASTIC_DH_PARTS }, () => draw(rows, 0.1, 1)),
    dhebb: draw(rows * n, 0.1, 1),
    delig: draw(rows * n, 0.1, 1),
  };
  if (g.clip === 'none' || g.rule === 'decay' || g.rule === 'oja') return d;
  for (let k = 0; k < rows * n; k++) {
    for (let tries = 0; Math.abs(Math.abs(preClip(g, d, k)) - c) < GAP * c; tries++) {
      if (tries === 10) throw new Error(`caseData: trace element ${k} stays within ${GAP}·c of the clip bound`);
      // The hard clip's value moves with H one for one; the retroactive increment m·E with E.
      if (g.clip === 'hard') d.hebb[k] = Math.fround(d.hebb[k] - Math.sign(preClip(g, d, k)) * 3 * GAP * c);
      else if (g.rule === 'retroactive') d.elig[k] = Math.fround(d.elig[k] * 1.1);
    }
  }
  return d;
}

/** The value the clamp sees at flat trace index k (backend.ts, ClipKind). */
function preClip(g: PlasticGeometry, d: CaseData, k: number): number {
  const n = g.n;
  const row = Math.floor(k / n);
  const [b, i, j] = [Math.floor(row / n), row % n, k % n];
  const m = d.mod[g.modKind === 'global' ? 0 : g.modKind === 'episode' ? b : row];
  const inc = g.rule === 'retroactive' ? m * d.elig[k] : m * d.post[b * n + i] * d.pre[b * n + j];
  const h = d.hebb[k];
  if (g.clip === 'hard') return h + inc;
  const c = g.clipValue;
  return h + Math.max(inc, 0) * (1 - h / c) + Math.min(inc, 0) * (1 + h / c);
}

/** Runs all three kernels on `be` and reads every output back (freeing everything). */
async function runKernels(be: PlasticBackend, kc: KernelCase, d: CaseData): Promise<Map<string, Float64Array>> {
  const { g } = kc;
  const retro = g.rule === 'retroactive';
  const owned: Buf[] = [];
  const up = (data: number[]) => {
    const buf = be.upload(data);
    owned.push(buf);
    return buf;
  };
  const inp: PlasticStepInputs = {
    hebb: up(d.hebb), elig: retro ? up(d.elig) : null, pre: up(d.pre), post: up(d.post), mod: up(d.mod),
    eta: retro ? up(d.eta) : null, x: up(d.x), drive: up(d.drive), w: up(d.w), alpha: up(d.alpha),
  };
  const out = new Map<string, Float64Array>();
  const take = async (name: string, buf: Buf | null) => {
    if (!buf) return;
    out.set(name, Float64Array.from(await be.read(buf, buf.length)));
    be.free(buf);
  };
  const upd = be.hebbUpdate(g, inp.hebb, inp.elig, inp.pre, inp.post, inp.mod, inp.eta);
  await take('hebbUpdate.hebb', upd.hebb);
  await take('hebbUpdate.elig', upd.elig);
  const fwd = be.plasticStep(g, inp);
  const grads = be.plasticStepBackward(
    g,
    inp,
    fwd.h,
    d.dh.slice(0, kc.dhParts ?? 1).map(up),
    kc.dhebb === false ? null : up(d.dhebb),
    retro && kc.delig !== false ? up(d.delig) : null,
  );
  await take('plasticStep.h', fwd.h);
  await take('plasticStep.hebb', fwd.hebb);
  await take('plasticStep.elig', fwd.elig);
  for (const [name, buf] of Object.entries(grads)) await take(`d${name}`, buf);
  owned.forEach((buf) => be.free(buf));
  return out;
}

/** Every kernel output of `kc` on the GPU against the CPU oracle, on the same float32 inputs. */
async function checkKernels(gpu: PlasticBackend, cpu: PlasticBackend, kc: KernelCase, seed = 7): Promise<void> {
  const d = caseData(kc.g, seed);
  const want = await runKernels(cpu, kc, d);
  const got = await runKernels(gpu, kc, d);
  const what = `${JSON.stringify(kc.g)}, ${kc.dhParts ?? 1} dh part(s)${kc.dhebb === false ? ', no dhebb' : ''}${kc.delig === false ? ', no delig' : ''}`;
  expect([...got.keys()].sort(), what).toEqual([...want.keys()].sort());
  for (const [name, w] of want) {
    const tol = name.startsWith('d') ? GRAD_TOL : FORWARD_TOL;
    assertClose(`${what}: ${name}`, got.get(name)!, w, tol);
  }
}

const geometry = (g: Partial<PlasticGeometry>): PlasticGeometry => ({
  batch: 3, n: 8, rule: 'hebbian', clip: 'hard', clipValue: 1, modKind: 'episode', alphaKind: 'full', ...g,
});

/**
 * hebbUpdate, plasticStep and plasticStepBackward called directly on `gpu()` against the CPU
 * oracle: every rule, clip kind, modulation and alpha shape, the sizes that stress the tiling, and
 * null incoming gradients.
 */
function kernelCallTests(gpuOf: () => PlasticBackend, cpu: PlasticBackend): void {
  test('every rule and clip kind, vec4 (N = 8) and scalar (N = 7) rows', async () => {
    for (const rule of ['hebbian', 'decay', 'oja', 'retroactive'] as const) {
      for (const clip of ['hard', 'soft', 'none'] as const) {
        for (const n of [8, 7]) await checkKernels(gpuOf(), cpu, { g: geometry({ rule, clip, n }) });
      }
    }
  });

  test('every modulation and alpha shape', async () => {
    for (const modKind of ['global', 'episode', 'neuron'] as const) {
      for (const alphaKind of ['full', 'neuron', 'scalar'] as const) {
        for (const rule of ['hebbian', 'retroactive'] as const) {
          await checkKernels(gpuOf(), cpu, { g: geometry({ rule, clip: 'soft', clipValue: 2, modKind, alphaKind, batch: 5, n: 12 }) });
        }
      }
    }
  });

  test('B = 1, N = 1, N = 67, N = 128, N = 260, several column groups, B not a multiple of the episode block', async () => {
    const sizes: [number, number][] = [[1, 1], [1, 5], [2, 67], [2, 128], [1, 260], [1, 261], [1, 1032], [5, 4], [7, 3]];
    for (const [batch, n] of sizes) {
      for (const rule of ['hebbian', 'retroactive'] as const) {
        await checkKernels(gpuOf(), cpu, { g: geometry({ rule, batch, n, modKind: 'neuron', alphaKind: n % 2 ? 'neuron' : 'full' }) });
      }
    }
  });

  test('null incoming gradients count as zero', async () => {
    for (const rule of ['oja', 'retroactive'] as const) {
      const g = geometry({ rule, n: 12 });
      await checkKernels(gpuOf(), cpu, { g, dhParts: 0 });
      await checkKernels(gpuOf(), cpu, { g, dhebb: false });
      await checkKernels(gpuOf(), cpu, { g, delig: false });
      await checkKernels(gpuOf(), cpu, { g, dhParts: 0, dhebb: false, delig: false });
    }
  });

  test("h's gradient in 2 to PLASTIC_DH_PARTS parts, added up by the backward", async () => {
    for (let dhParts = 2; dhParts <= PLASTIC_DH_PARTS; dhParts++) {
      for (const rule of ['hebbian', 'retroactive'] as const) await checkKernels(gpuOf(), cpu, { g: geometry({ rule, n: 12 }), dhParts });
    }
  });

}

describeWebGPU('plastic kernels', (backend, cpuBackend) => {
  const gpu = backend as PlasticBackend;
  const cpu = cpuBackend as PlasticBackend;

  for (const v of [...VARIANTS, ...VEC4_VARIANTS].map((v) => ({ ...v, steps: GPU_STEPS[v.name] ?? v.steps }))) {
    test(`unrolled episode = CPU float64: ${v.name}`, async () => {
      const want = await run(cpu, v);
      const got = await run(gpu, v);
      compareRuns(v.name, got, want, GRAD_TOL);
    });
  }

  test('checkpointing (a tape keeping every 3rd trace) on the GPU = storing every trace', async () => {
    for (const v of [VARIANTS[1], VARIANTS[7], VEC4_VARIANTS[3]]) {
      const all = await run(gpu, v);
      const tape = await run(gpu, v, 3);
      // The recomputed traces come from the same update code (hebbUpdate is plastic_step.wgsl
      // with the cell off), so only the order of gradient accumulation may differ.
      compareRuns(`${v.name}, tape`, tape, all, { atol: 1e-6, rtol: 1e-5 });
    }
  });

  test('the unrolled episode and the tape leave no buffer behind', async () => {
    await run(gpu, VARIANTS[7], 3); // warm the pool
    const before = gpu.memory().bytesInUse;
    await run(gpu, VARIANTS[7], 3);
    await run(gpu, VEC4_VARIANTS[0]);
    expect(gpu.memory().bytesInUse).toBe(before);
  });

  kernelCallTests(() => gpu, cpu);

  test('the data exercise the clip on some entries and both signs of the modulation', () => {
    for (const g of [geometry({ n: 67, batch: 2, modKind: 'neuron' }), geometry({ rule: 'retroactive', clip: 'soft', clipValue: 2, modKind: 'neuron' })]) {
      const d = caseData(g, 7);
      const u = d.hebb.map((_, k) => Math.abs(preClip(g, d, k)));
      expect(u.some((v) => v > g.clipValue)).toBe(true);
      expect(u.some((v) => v < g.clipValue)).toBe(true);
      expect(Math.min(...d.mod)).toBeLessThan(0);
      expect(Math.max(...d.mod)).toBeGreaterThan(0);
    }
  });

  test('the kernels free every intermediate', async () => {
    await checkKernels(gpu, cpu, { g: geometry({ rule: 'retroactive', alphaKind: 'neuron' }) });
    const before = gpu.memory().bytesInUse;
    await checkKernels(gpu, cpu, { g: geometry({ rule: 'retroactive', alphaKind: 'neuron' }) });
    await checkKernels(gpu, cpu, { g: geometry({ modKind: 'global', alphaKind: 'scalar', n: 7 }) });
    expect(gpu.memory().bytesInUse).toBe(before);
  });

  test('the backward variants compiled where first used compile, with and without subgroups', async () => {
    const { device } = (backend as WebGPUBackend).gpu;
    for (const subgroups of [false, ...(device.features.has('subgroups') ? [true] : [])]) {
      const sources = plasticSourcesOnFirstUse(subgroups);
      expect(Object.keys(sources).length).toBe(80);
      expect((await compileKernels(device, sources, paramsLayout(device))).size).toBe(80);
    }
  });

  test('bad arguments name the kernel and the argument', () => {
    const g = geometry({ batch: 2, n: 4 });
    const buf = (count: number) => gpu.upload(new Array<number>(count).fill(0.5));
    const inp: PlasticStepInputs = {
      hebb: buf(32), elig: null, pre: buf(8), post: buf(8), mod: buf(2), eta: null, x: buf(8), drive: buf(8), w: buf(16), alpha: buf(16),
    };
    expect(() => gpu.plasticStep(g, { ...inp, hebb: buf(10) })).toThrow('plasticStep: hebb holds 10 elements, needs 32');
    expect(() => gpu.plasticStep({ ...g, alphaKind: 'full' }, { ...inp, alpha: buf(4) })).toThrow('plasticStep: alpha holds 4 elements, needs 16');
    expect(() => gpu.plasticStep({ ...g, modKind: 'neuron' }, inp)).toThrow('plasticStep: mod holds 2 elements, needs 8');
    expect(() => gpu.plasticStep({ ...g, rule: 'retroactive' }, inp)).toThrow('plasticStep: the retroactive rule needs elig and eta buffers');
    expect(() => gpu.hebbUpdate({ ...g, n: 0 }, inp.hebb, null, inp.pre, inp.post, inp.mod, null)).toThrow('hebbUpdate: geometry n must be a positive integer, got 0');
    expect(() => gpu.plasticStepBackward({ ...g, clipValue: -1 }, inp, inp.x, [], null, null)).toThrow('plasticStepBackward: clipValue must be a positive finite number, got -1');
    expect(() => gpu.plasticStepBackward(g, inp, buf(3), [], null, null)).toThrow('plasticStepBackward: h holds 3 elements, needs 8');
    for (const be of [gpu, cpu]) {
      expect(() => be.plasticStepBackward(g, inp, inp.x, [inp.x, buf(3)], null, null)).toThrow('plasticStepBackward: dh[1] holds 3 elements, needs 8');
      expect(() => be.plasticStepBackward(g, inp, inp.x, Array(PLASTIC_DH_PARTS + 1).fill(inp.x), null, null)).toThrow(`plasticStepBackward: dh takes at most ${PLASTIC_DH_PARTS} parts, got ${PLASTIC_DH_PARTS + 1}`);
    }
  });
});

describeWebGPU('plastic kernels without subgroups (the row sums stored per Chunk)', (backend, cpuBackend) => {
  let plain: WebGPUBackend;
  beforeAll(async () => {
    plain = (await createWebGPUBackend({ subgroups: false }))!;
  });
  afterAll(() => plain.destroy());

  test('the default backend uses subgroups exactly when the adapter has them, 8 invocations wide or more', async () => {
    const { gpu } = backend as WebGPUBackend;
    const adapter = (await gpu.gpu.requestAdapter())!;
    const usable = adapter.features.has('subgroups') && (adapter.info.subgroupMinSize ?? 0) >= SUBGROUP_MIN_SIZE;
    expect([gpu.subgroups, gpu.device.features.has('subgroups')]).toEqual([usable, usable]);
    expect([plain.gpu.subgroups, plain.gpu.device.features.has('subgroups')]).toEqual([false, false]);
  });

  kernelCallTests(() => plain as PlasticBackend, cpuBackend as PlasticBackend);
});

describeWebGPU('plastic kernels on a device with fewer storage buffers per stage', (backend, cpuBackend) => {
  test("with WebGPU's default 8 the modulator's backward takes two passes instead of one, to the same gradients", async () => {
    const small = (await createWebGPUBackend({ limits: 'default' }))!;
    try {
      // 70 rows: more than a workgroup; both outputs carry a gradient.
      const grads = async (device: Backend) => {
        setBackend(device);
        const t = (shape: number[], f: number) => tensor(Array.from({ length: shape[0] * (shape[1] ?? 1) }, (_, i) => Math.sin(f * (i + 1))), shape, { requiresGrad: true });
        const inputs = [t([70, 9], 1), t([1, 9], 2), t([1], 3), t([5, 1], 4), t([5], 5)];
        const [h, w, b, fw, fb] = inputs;
        const { m, eta } = modulator(h, w, b, { weight: fw, bias: fb });
        const loss = add(sum(mul(m, m)), sum(mul(eta!, eta!)));
        loss.backward();
        const out = await Promise.all(inputs.map((x) => x.grad!.data()));
        dispose([loss, m, eta!, ...inputs]);
        return out;
      };
      const want = await grads(cpuBackend);
      for (const device of [backend, small]) (await grads(device)).forEach((g, k) => assertClose(`${device === small ? 'two passes' : 'one pass'}: input ${k}`, g, want[k], GRAD_TOL));
    } finally {
      setBackend(backend);
      small.destroy();
    }
  });

  test('PLASTIC_STORAGE_BUFFERS is the most storage buffers a plastic kernel binds', () => {
    const counts = [false, true].flatMap((sg) => [...Object.values(plasticSources(sg)), ...Object.values(plasticSourcesOnFirstUse(sg))]).map((s) => (typeof s === 'string' ? s : s.files.map((f) => f.text).join('\n')).match(/var<storage,/g)!.length);
    expect(Math.max(...counts)).toBe(PLASTIC_STORAGE_BUFFERS);
  });

  test("with WebGPU's default 8 the fused kernels are off and say why; a PlasticRNN episode and hebbUpdate run the reference composition to the same results", async () => {
    const small = (await createWebGPUBackend({ limits: 'default' }))!;
    try {
      expect(small.gpu.limits.maxStorageBuffersPerShaderStage).toBeLessThan(PLASTIC_STORAGE_BUFFERS);
      expect([small.fusedPlastic, backend.fusedPlastic]).toEqual([false, true]);
      const g: PlasticGeometry = { batch: 1, n: 4, rule: 'hebbian', clip: 'hard', clipValue: 1, modKind: 'global', alphaKind: 'full' };
      const buf = small.upload([0.5]);
      expect(() => small.hebbUpdate(g, buf, null, buf, buf, buf, null)).toThrow(/hebbUpdate: the fused plastic kernels bind 15 storage buffers per shader stage and this device offers 8/);
      small.free(buf);
      const episode = async (device: Backend) => {
        setBackend(device);
        const net = new PlasticRNN({ inputSize: 3, hiddenSize: 8, numActions: 2, plasticity: 'retroactive', rng: new Rng(3) });
        const x = tensor(Array.from({ length: 2 * 3 }, (_, i) => Math.sin(i + 1)), [2, 3]);
        const loss = tidy(() => {
          let s = net.initialState(2);
          let l = sum(x);
          for (let t = 0; t < 5; t++) {
            const o = net.step(x, s);
            s = o.state;
            l = add(l, add(sum(o.logits), sum(o.value)));
          }
          l.backward();
          return l;
        });
        const grads = await Promise.all(net.parameters().map((p) => p.grad!.data()));
        const value = await loss.item();
        dispose([loss, x]);
        net.dispose();
        return { value, grads };
      };
      const fused = await episode(backend);
      const reference = await episode(small);
      expect(reference.value).toBeCloseTo(fused.value, 4);
      fused.grads.forEach((g, k) => assertClose(`parameter ${k}`, reference.grads[k], g, GRAD_TOL));
      // hebbUpdate (no gradient) falls back too, and frees what it composed.
      const update = async (device: Backend) => {
        setBackend(device);
        const t = (n: number, f: number) => tensor(Array.from({ length: n }, (_, i) => Math.sin(f * (i + 1))), n === 1 ? [1] : n === 2 ? [2, 1] : n === 8 ? [2, 4] : [2, 4, 4]);
        const args = { hebb: t(32, 1), elig: t(32, 2), pre: t(8, 3), post: t(8, 4), mod: t(2, 5), eta: t(1, 6) };
        const inUse = device.memory().bytesInUse;
        const r = hebbUpdate({ rule: 'retroactive', clipValue: 0.5 }, args);
        const out = [await r.hebb.data(), await r.elig!.data()];
        dispose([r.hebb, r.elig!]);
        expect(device.memory().bytesInUse).toBe(inUse);
        dispose(Object.values(args));
        return out;
      };
      const [want, got] = [await update(backend), await update(small)];
      want.forEach((w, k) => assertClose(['hebb', 'elig'][k], got[k], w, FORWARD_TOL));
    } finally {
      setBackend(backend);
      small.destroy();
    }
  });
});
