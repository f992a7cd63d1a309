/**
 * Plastic-kernel benchmarks (DESIGN.md "The plastic kernels", "Performance model"):
 *
 * 1. each kernel alone (hebbUpdate, plasticStep forward, plasticStepBackward) on our WebGPU and CPU
 *    backends;
 * 2. the whole PlasticRNN recurrent step (PlasticRNN.advance: the cell, its traces and the
 *    modulator, the math of the peers; the policy and value heads are not part of the recurrence,
 *    and the A2C trainer applies them once per episode), forward, and forward + backward through
 *    an episode of T steps:
 *    our fused kernels, the same math composed of primitive ops on our engine (kernel: 'reference'),
 *    our CPU backend (plain TypeScript loops, the baseline a user gets without a GPU), and the step
 *    written in TF.js (WebGPU, WASM) and jax-js (WebGPU, WASM with jit; bench/plastic_peers.ts);
 * 3. peak device memory of an episode storing every trace against checkpointing (TraceTape).
 *
 *   XDG_RUNTIME_DIR=/tmp npm run bench:kernels [-- --quick | --sizes 30x200,1x100] [--spin] [--profile]
 *
 * The full grid is B ∈ {1, 30, 128} × N ∈ {100, 200, 500} (≈10 minutes on 2 cores; `dropped` says
 * which cases are left out and why); --quick times the retroactive rule at B=1, N=100 and B=30,
 * N=200, where the targets are stated, and its memory comparison (≈2 minutes). --spin awaits the device
 * without first sleeping through most of the expected device time (see TimeOptions.idle).
 * --profile then runs 10 more fused episodes per rule at the targets' B = 30, N = 200 on a WebGPU
 * backend that times every dispatch, and prints where their GPU time goes, by kernel.
 *
 * Every time is printed next to the floor: the bytes the step must move (the trace read once and
 * written once forward; the saved trace read, and its gradient read and written, backward) over
 * the bandwidth of our raw copy kernel (or of hebbUpdate, a pure stream over the traces, where
 * that is faster: see floorGBps), measured in the same rotation. The queue's copyBufferToBuffer of
 * a trace is timed beside it: lavapipe runs it as a memcpy, which no kernel matches, so the floor
 * stays a kernel's copy and that bandwidth is printed for comparison. Cases of one (rule, B, N) are
 * timed with their batches interleaved, so the ratios hold under load drifting on a shared 2-core
 * machine; absolute numbers on lavapipe say nothing about GPUs (DESIGN.md). Prints tables and
 * writes them, with every timing, to bench/results/kernels.json.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  add, CpuBackend, noGrad, PlasticRNN, Rng, setBackend, sum, tensor, tidy,
  type Backend, type PlasticRNNState, type Tensor,
} from '../src/index.js';
import type { Buf, PlasticGeometry, PlasticKernels, PlasticStepInputs } from '../src/kernels/backend.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import type { KernelTime } from '../src/kernels/webgpu/profiler.js';
import {
  machineInfo, printProfile, printTable, randomData, timeCases, writeResults,
  type Case, type Cell, type Scheduler, type Table, type TimeOptions, type Timing, type Unavailable,
} from './harness.js';
import { installWebGPU, loadPeers } from './peers.js';
import { cellParams, plasticPeers, type CellParams, type EpisodeValues, type F32, type PlasticLib, type StepRule, type StepSpec } from './plastic_peers.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    spin: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    profile: { type: 'boolean', default: false },
  },
});
/** --quick keeps the retroactive rule: two traces per step, the heavier case and the paper's main one. */
const RULES: readonly StepRule[] = opts.quick ? ['retroactive'] : ['neuromodulated', 'retroactive'];
/** [B, N]: the issue's grid; --quick keeps the two points the targets are stated at. */
const SIZES: readonly [number, number][] = opts.sizes
  ? opts.sizes.split(',').map(parseSize)
  : opts.quick
    ? [[1, 100], [30, 200]]
    : [1, 30, 128].flatMap((b) => [100, 200, 500].map((n): [number, number] => [b, n]));
/** Inputs per step (the maze task has a few dozen); small next to N so the trace dominates. */
const INPUT_SIZE = 16;
/** Steps of a timed forward + backward episode (reported per step): short, as the slow peers take seconds per episode. */
const T = 5;
/**
 * The memory comparison of the issue: one episode at B=30, N=200, T=120, checkpoints every ≈√T
 * steps; `reps` timed episodes per mode.
 */
const MEMORY = { batch: 30, n: 200, steps: 120, every: 11, reps: 3 };
/** Episodes timed by --profile, per rule. */
const PROFILED_EPISODES = 10;
/** Where the targets are stated: fused forward + backward at B=30..32, N=200, and the B=1, N=100 step. */
const TARGET_SIZE: [number, number] = [30, 200];
const SMALL_SIZE: [number, number] = [1, 100];

const args = process.argv.slice(2);
const command = `XDG_RUNTIME_DIR=/tmp npm run bench:kernels${args.length ? ` -- ${args.join(' ')}` : ''}`;
const timeOpts: TimeOptions = { idle: !opts.spin, reps: 3, minBatchMs: 40 };
/**
 * The timing of the groups where a target is stated (SMALL_SIZE and TARGET_SIZE). More batches let
 * each case's fastest show its achievable time rather than its luck, and longer ones spread each
 * batch's fixed submit, sleep and wake-up over more episodes. A user trains thousands of episodes
 * back to back.
 * - At SMALL_SIZE a step is a dozen dispatches of a few µs of work, each waiting on lavapipe waking
 *   its threads (30-100 µs, varying from batch to batch: the same episode measured 0.6-1.9 ms per
 *   step in one process). With 40 ms batches the fused simple-rule episode was calibrated to 4-7
 *   per batch and took 0.65-0.84 ms per step in full runs, with 120 ms 19-26 per batch and 0.49-0.53
 *   ms (two runs each).
 * - At TARGET_SIZE a fused episode takes 30-50 ms, so a 40 ms batch held one: timed one per batch
 *   it took 6.82 and 7.08 ms per step, five per batch 6.38 and 6.40 (simple rule, a scratch timing
 *   of the same episode, the two alternated twice).
 */
const TARGET_TIMING: TimeOptions = { ...timeOpts, reps: 9, minBatchMs: 120 };
const started = performance.now();
console.log(`# ${command}`);

// ---------------------------------------------------------------- libraries

// The Dawn instance must exist before the peers load; `gpu` stays referenced to the end.
const gpu = await installWebGPU();
const webgpu: WebGPUBackend = (await createWebGPUBackend({ gpu })) ?? noAdapter();
const cpu = new CpuBackend('f32');
const adapter = webgpu.gpu.device.adapterInfo.description;
const fused = ourLib('ours-fused', webgpu, 'fused', { kind: 'webgpu', adapter });
const reference = ourLib('ours-reference', webgpu, 'reference', { kind: 'webgpu', adapter: `${adapter}, primitive ops` });
const oursCpu = ourLib('ours-cpu', cpu, 'fused', { kind: 'cpu', adapter: 'TypeScript loops, float32' });
const loaded = await plasticPeers(await loadPeers());
const peers = loaded.filter((p): p is PlasticLib => !('reason' in p));
const unavailable = loaded.filter((p): p is Unavailable => 'reason' in p);
const libs: PlasticLib[] = [fused, reference, oursCpu, ...peers];

const machine = machineInfo(adapter);
console.log(`# ${JSON.stringify(machine)}`);
for (const lib of libs) console.log(`#   ${lib.name}: ${lib.adapter}`);
for (const u of unavailable) console.log(`#   ${u.name}: unavailable: ${u.reason}`);

/**
 * Cases left out to keep the full run near 10 minutes on 2 cores, and why: the largest B·N² each
 * library runs, step (and kernels) / episode, from times measured here under load. The slow ones
 * move the [B, N, N] trace many times per step or loop over it in plain TypeScript; the harness
 * runs each case seven times, so a case of 2 s per op costs 15 s. Our fused path runs every size
 * but the episodes at N = 500, whose backward is seconds per step there (the kernel rows show it).
 */
interface Ceiling {
  /** Largest B·N² of the kernels and the forward step, and of the episode. */
  step: number;
  episode: number;
  /** Largest N of the episode. */
  episodeN: number;
  why: string;
}

const CEILINGS: Record<string, Ceiling> = {
  'ours-fused': { step: Infinity, episode: 128 * 200 * 200, episodeN: 500, why: 'a fused episode at B ≥ 30, N=500 takes 4-7 s (plasticStepBackward, see the kernel table)' },
  'ours-reference': { step: 128 * 100 * 100, episode: 30 * 200 * 200, episodeN: 500, why: 'the reference composition takes 1.5-3 s per step beyond B·N² = 1.3M' },
  'ours-cpu': { step: 128 * 100 * 100, episode: 30 * 200 * 200, episodeN: 500, why: 'plain TypeScript loops take 0.7-2.6 s per kernel or step beyond B·N² = 1.3M' },
  // its gradient slows down 60x from N=200 to N=500 at B=1
  'TF.js-webgpu': { step: 128 * 100 * 100, episode: 30 * 200 * 200, episodeN: 200, why: 'TF.js-webgpu takes 0.7-2.6 s per step beyond B·N² = 1.3M, 8-10 s per episode at N=500' },
};
/** The other peers: forward steps are cheap enough at every size but the largest. */
const DEFAULT_CEILING: Ceiling = { step: 30 * 500 * 500, episode: 30 * 200 * 200, episodeN: 500, why: 'their episodes take 1-5 s beyond B·N² = 1.2M, their steps seconds at 32M' };

function dropped(lib: string, what: 'step' | 'episode', b: number, n: number): string | null {
  const c = CEILINGS[lib] ?? DEFAULT_CEILING;
  const over = what === 'step' ? b * n * n > c.step : b * n * n > c.episode || n > c.episodeN;
  return over ? c.why : null;
}

// ---------------------------------------------------------------- measurement

const timings = new Map<string, Timing>();
const failures: { lib: string; case: string; error: string }[] = [];
const skipped: { lib: string; case: string; reason: string }[] = [];
const tables: Table[] = [];
/**
 * ms per op of a case: its fastest timed batch. Other jobs on this shared 2-core machine only ever
 * add time, in bursts that a median of three batches does not always escape (the harness's medians
 * are in the JSON with every batch).
 */
const msOf = (lib: string, name: string) => {
  const t = timings.get(`${lib}: ${name}`);
  return t ? Math.min(...t.batchesMs) / t.count : NaN;
};

interface Item {
  lib: Scheduler & { name: string };
  name: string;
  make: () => Promise<Case> | Case;
  /** Count the WebGPU dispatches of one op first (ours on WebGPU): what bounds the small sizes. */
  countDispatches?: boolean;
}

/** Dispatches per op by `${lib}: ${case}`. */
const dispatches = new Map<string, number>();

/** Times a group interleaved; a case that throws is recorded as a failure and prints as '–'. */
async function measure(items: Item[], options = timeOpts): Promise<void> {
  const fail = (item: Item, error: unknown) =>
    failures.push({ lib: item.lib.name, case: item.name, error: error instanceof Error ? error.message : String(error) });
  const ready: (Item & { c: Case })[] = [];
  for (const item of items) {
    try {
      await item.lib.activate?.();
      const c = await item.make();
      if (item.countDispatches) {
        dispatches.set(`${item.lib.name}: ${item.name}`, countDispatches(() => c.run()));
        await item.lib.sync();
      }
      ready.push({ ...item, c });
    } catch (error) {
      fail(item, error);
    }
  }
  const results = await timeCases(ready, options);
  ready.forEach((item, i) => {
    const result = results[i];
    if (result instanceof Error) fail(item, result);
    else timings.set(`${item.lib.name}: ${item.name}`, result);
    item.c.dispose();
  });
}

/**
 * The compute dispatches `fn` records, counted by wrapping the pass encoder's method (every
 * library on the Dawn instance shares it, so only our cases are counted, one op each, untimed).
 */
function countDispatches(fn: () => void): number {
  const proto = GPUComputePassEncoder.prototype;
  const dispatch = proto.dispatchWorkgroups;
  let count = 0;
  proto.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...grid: Parameters<typeof dispatch>) {
    count++;
    return dispatch.apply(this, grid);
  };
  try {
    fn();
  } finally {
    proto.dispatchWorkgroups = dispatch;
  }
  return count;
}

function report(table: Table): void {
  tables.push(table);
  printTable(table);
}

const KERNELS = ['hebbUpdate', 'forward', 'backward'] as const;
type Kernel = (typeof KERNELS)[number];
const webgpuKernels = { name: 'ours-webgpu', activate: async () => setBackend(webgpu), flush: () => webgpu.flush(), sync: () => webgpu.sync() };
const cpuKernels = { name: 'ours-cpu', activate: async () => setBackend(cpu), flush: () => {}, sync: async () => {} };

/**
 * The floor of each measured thing, in bytes (DESIGN.md, performance model), for k traces (P, and
 * E if retroactive) of B·N² floats and the N² parameters w and α: the update reads and writes each
 * trace once; the forward step also reads w and α; the backward reads the saved trace(s), reads
 * dP' (dE') and writes dP (dE), reads w and α and writes dw and dα. [B, N] vectors are left out.
 */
function floorBytes(what: Kernel | 'step' | 'episode', rule: StepRule, b: number, n: number): number {
  const k = rule === 'retroactive' ? 2 : 1;
  const trace = b * n * n * 4;
  const param = n * n * 4;
  const bytes = {
    hebbUpdate: 2 * k * trace,
    forward: 2 * k * trace + 2 * param,
    backward: 3 * k * trace + 4 * param,
  };
  if (what === 'step') return bytes.forward;
  if (what === 'episode') return bytes.forward + bytes.backward;
  return bytes[what];
}

const copyName = (rule: StepRule, b: number, n: number) => `copyRaw [${b}·${n}²] in the ${rule} rotation`;
const bufferCopyName = (rule: StepRule, b: number, n: number) => `copyBufferToBuffer [${b}·${n}²] in the ${rule} rotation`;
const kernelName = (kernel: Kernel, rule: StepRule, b: number, n: number) => `${kernel} ${rule} B=${b} N=${n}`;
/** Bandwidth (read + write) of the timed case `name`, a copy of one B·N² trace. */
const traceCopyGBps = (name: string, b: number, n: number) => (2 * b * n * n * 4) / (msOf('ours-webgpu', name) * 1e6);
/** Our copy kernel's bandwidth over one trace, in the (rule, B, N) rotation. */
const copyGBps = (rule: StepRule, b: number, n: number) => traceCopyGBps(copyName(rule, b, n), b, n);
/**
 * The queue's own buffer copy over one trace, in the same rotation: on lavapipe a memcpy, which no
 * kernel can match (every storage access a kernel makes is compiled per SIMD lane, see
 * chunk_vec4.wgsl); printed beside the floor, which stays a kernel's copy.
 */
const bufferCopyGBps = (rule: StepRule, b: number, n: number) => traceCopyGBps(bufferCopyName(rule, b, n), b, n);
/**
 * The bandwidth the floors are computed with: the faster of our copy kernel and hebbUpdate, which
 * is itself a pure stream over the traces (each read once and written once), in the same rotation.
 * On lavapipe copy.wgsl's one vec4 per thread pays a per-workgroup cost that hebbUpdate's one row
 * per thread does not: measured here, the copy ran 1.3x slower than hebbUpdate over the same bytes,
 * and a floor set by it alone put the fused kernels below their floor.
 */
const floorGBps = (rule: StepRule, b: number, n: number) => {
  const stream = floorBytes('hebbUpdate', rule, b, n) / (msOf('ours-webgpu', kernelName('hebbUpdate', rule, b, n)) * 1e6);
  return Number.isNaN(stream) ? copyGBps(rule, b, n) : Math.max(copyGBps(rule, b, n), stream);
};
const stepName = (rule: StepRule, b: number, n: number) => `step ${rule} B=${b} N=${n}`;
const episodeName = (rule: StepRule, b: number, n: number) => `episode T=${T} ${rule} B=${b} N=${n}`;

// ---- 0. the peers compute what we compute
const peerCheck = await checkPeers();

// ---- 1 and 2, one rotation per (rule, B, N)
for (const [b, n] of SIZES) {
  for (const rule of RULES) {
    const { spec, p, xs } = episodeInputs(rule, b, n);
    const items: Item[] = [
      { lib: webgpuKernels, name: copyName(rule, b, n), make: () => copyCase(webgpu, b * n * n) },
      { lib: webgpuKernels, name: bufferCopyName(rule, b, n), make: () => bufferCopyCase(webgpu, b * n * n) },
    ];
    for (const kernel of KERNELS) {
      items.push({ lib: webgpuKernels, name: kernelName(kernel, rule, b, n), make: () => kernelCase(webgpu, kernel, rule, b, n), countDispatches: true });
      const why = dropped(cpuKernels.name, 'step', b, n);
      if (why) skipped.push({ lib: 'ours-cpu', case: kernelName(kernel, rule, b, n), reason: why });
      else items.push({ lib: cpuKernels, name: kernelName(kernel, rule, b, n), make: () => kernelCase(cpu, kernel, rule, b, n) });
    }
    for (const lib of libs) {
      for (const [what, name, make] of [
        ['step', stepName(rule, b, n), () => lib.step(spec, p, xs[0])],
        ['episode', episodeName(rule, b, n), () => lib.episode(spec, p, xs)],
      ] as const) {
        const why = dropped(lib.name, what, b, n);
        if (why) skipped.push({ lib: lib.name, case: name, reason: why });
        else items.push({ lib, name, make, countDispatches: lib === fused || lib === reference });
      }
    }
    console.log(`\n# timing ${rule} B=${b} N=${n}: ${items.length} cases (${((performance.now() - started) / 1000).toFixed(0)} s so far, load ${loadavg()[0].toFixed(2)})`);
    const target = [SMALL_SIZE, TARGET_SIZE].some((size) => sameSize(size, [b, n]));
    await measure(items, target ? TARGET_TIMING : timeOpts);
  }
}

const sizeRows = SIZES.flatMap(([b, n]) => RULES.map((rule) => [rule, b, n] as const));
const mb = (bytes: number) => bytes / 1e6;

const disp = (lib: string, name: string, perStep = 1) => (dispatches.get(`${lib}: ${name}`) ?? NaN) / perStep;
report({
  title:
    "kernels, ms per call (each case's fastest timed batch). MB: the floor bytes; GB/s: MB over time; copy GB/s: our copy kernel over " +
    'one trace; floor GB/s: the faster of it and hebbUpdate (same rotation); ×floor: time over MB / floor GB/s; buffer copy GB/s: ' +
    "the queue's copyBufferToBuffer over one trace (lavapipe: memcpy); disp: WebGPU dispatches per call",
  header: ['rule', 'B', 'N', 'kernel', 'MB', 'copy GB/s', 'floor GB/s', 'webgpu ms', 'GB/s', '×floor', 'buffer copy GB/s', 'disp', 'cpu ms', 'cpu/webgpu'],
  rows: sizeRows.flatMap(([rule, b, n]) =>
    KERNELS.map((kernel) => {
      const name = kernelName(kernel, rule, b, n);
      const bytes = floorBytes(kernel, rule, b, n);
      const [gpuMs, cpuMs] = [msOf('ours-webgpu', name), msOf('ours-cpu', name)];
      const gbps = bytes / (gpuMs * 1e6);
      const floor = floorGBps(rule, b, n);
      return [
        rule, String(b), String(n), kernel, mb(bytes), copyGBps(rule, b, n), floor, gpuMs, gbps, floor / gbps, bufferCopyGBps(rule, b, n),
        disp('ours-webgpu', name), cpuMs, cpuMs / gpuMs,
      ];
    }),
  ),
});

const peerNames = peers.map((l) => l.name);
const gpuPeerNames = peers.filter((l) => l.kind === 'webgpu').map((l) => l.name);
/** The fastest of `names` on a case: [ms per op, its name] (NaN and '' when none was measured). */
const fastest = (names: readonly string[], name: string): [number, string] =>
  names.reduce<[number, string]>((best, l) => (msOf(l, name) < best[0] || Number.isNaN(best[0]) ? [msOf(l, name), l] : best), [NaN, '']);
const stepTable = (what: 'step' | 'episode', nameOf: (r: StepRule, b: number, n: number) => string, perStep: number): Table => ({
  title:
    (what === 'step' ? 'PlasticRNN step forward' : `PlasticRNN forward + backward over T=${T} steps (peers: value and grads w.r.t. w, α, η)`) +
    ', ms per step (fastest timed batch). MB, GB/s, ×floor: as for the kernels; disp: dispatches per step; host: ms per step recording it',
  header: [
    'rule', 'B', 'N', 'MB', 'floor GB/s', 'fused', 'GB/s', '×floor', 'disp', 'host', 'reference', 'cpu', ...peerNames,
    'best peer/fused', 'best webgpu peer/fused', 'ref/fused', 'cpu/fused',
  ],
  rows: sizeRows.map(([rule, b, n]) => {
    const name = nameOf(rule, b, n);
    const bytes = floorBytes(what, rule, b, n);
    const floor = floorGBps(rule, b, n);
    const ms = (lib: string) => msOf(lib, name) / perStep;
    const f = ms(fused.name);
    const gbps = bytes / (f * 1e6);
    const host = (timings.get(`${fused.name}: ${name}`)?.recordMsPerOp ?? NaN) / perStep;
    const cells: Cell[] = [
      rule, String(b), String(n), mb(bytes), floor, f, gbps, floor / gbps, disp(fused.name, name, perStep), host,
      ms(reference.name), ms(oursCpu.name), ...peerNames.map(ms),
    ];
    return [...cells, fastest(peerNames, name)[0] / perStep / f, fastest(gpuPeerNames, name)[0] / perStep / f, ms(reference.name) / f, ms(oursCpu.name) / f];
  }),
});
report(stepTable('step', stepName, 1));
report(stepTable('episode', episodeName, T));

// ---- 3. memory: store every trace against checkpointing
const memory = await measureMemory();
report({
  title:
    `device memory of one fused episode, forward + backward (B=${MEMORY.batch}, N=${MEMORY.n}, T=${MEMORY.steps}): peak bytes in use ` +
    'and growth of the bytes allocated (pool included) above the start; trace MB: the traces the mode must hold',
  header: ['rule', 'traces', 'peak MB', 'allocated MB', 'trace MB (model)', 'ms/episode', 'peak ratio', 'time ratio'],
  rows: memory.flatMap((m) => [
    [m.rule, 'store all', mb(m.storeAll.peakBytes), mb(m.storeAll.allocatedBytes), mb(m.storeAll.modelBytes), m.storeAll.ms, 1, 1],
    [
      m.rule, `every ${MEMORY.every}`, mb(m.checkpoint.peakBytes), mb(m.checkpoint.allocatedBytes), mb(m.checkpoint.modelBytes), m.checkpoint.ms,
      m.storeAll.peakBytes / m.checkpoint.peakBytes, m.checkpoint.ms / m.storeAll.ms,
    ],
  ]),
});

// ---- where a fused episode's GPU time goes
const profiles = opts.profile ? await profileEpisodes() : undefined;

// ---- targets
const targets = evaluateTargets();
console.log('\ntargets (issue item 5):');
for (const [name, t] of Object.entries(targets)) console.log(`  ${t.met ? 'met   ' : 'MISSED'}  ${name}: ${t.detail}`);
const skippedBy = new Map<string, number>();
for (const s of skipped) skippedBy.set(`${s.lib}: ${s.reason}`, (skippedBy.get(`${s.lib}: ${s.reason}`) ?? 0) + 1);
for (const [why, count] of skippedBy) console.log(`skipped ${count} case(s) of ${why}`);
for (const f of failures) console.log(`failed: ${f.lib} ${f.case}: ${f.error}`);

const loadEnd = loadavg()[0];
const path = writeResults('kernels', {
  command,
  machine: { ...machine, loadavg1End: loadEnd },
  settings: { ...timeOpts, targetTiming: TARGET_TIMING, episodeSteps: T, inputSize: INPUT_SIZE, sizes: SIZES, memory: MEMORY },
  libs: libs.map(({ name, kind, adapter }) => ({ name, kind, adapter })),
  unavailable,
  peerCheck,
  skipped,
  failures,
  targets,
  memory,
  profiles,
  tables,
  timings: Object.fromEntries(timings),
  dispatches: Object.fromEntries(dispatches),
});
console.log(`\nwrote ${path} in ${((performance.now() - started) / 1000).toFixed(0)} s (load average ${machine.loadavg1.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end)`);
for (const lib of libs) lib.destroy();
if (failures.some((f) => f.lib.startsWith('ours'))) process.exitCode = 1;

/**
 * PROFILED_EPISODES fused episodes per rule at TARGET_SIZE on a profiled WebGPU backend (after a
 * warm-up one): their GPU time by kernel, printed beside the floor per step of the timed run, and
 * returned. One episode alone read a kernel 2-9x its usual time now and then (lavapipe's device
 * time is CPU time, which the OS takes as it likes).
 */
async function profileEpisodes(): Promise<{ rule: StepRule; kernels: KernelTime[] }[]> {
  const prof = (await createWebGPUBackend({ gpu, profile: true })) ?? noAdapter();
  const lib = ourLib('ours-fused, profiled', prof, 'fused', { kind: 'webgpu', adapter });
  const [b, n] = TARGET_SIZE;
  const out = [];
  for (const rule of RULES) {
    const { spec, p, xs } = episodeInputs(rule, b, n);
    await lib.activate!();
    const episode = await lib.episode(spec, p, xs);
    episode.run();
    await prof.sync();
    await prof.kernelTimes();
    for (let e = 0; e < PROFILED_EPISODES; e++) episode.run();
    await prof.sync();
    const kernels = await prof.kernelTimes();
    episode.dispose();
    const floorMs = floorBytes('episode', rule, b, n) / (floorGBps(rule, b, n) * 1e6);
    const floor = Number.isFinite(floorMs) ? `the floor is ${floorMs.toFixed(2)} ms/step (timed run)` : 'no floor (the run did not time this size)';
    printProfile(
      `${rule}, B=${b}, N=${n}: GPU time by kernel of ${PROFILED_EPISODES} fused episodes (T=${T}), every dispatch in its own timed pass; ${floor}`,
      kernels,
      PROFILED_EPISODES * T,
    );
    out.push({ rule, kernels });
  }
  lib.destroy();
  return out;
}

// ---------------------------------------------------------------- our engine as a PlasticLib

/** An episode's spec, cell parameters and `steps` inputs for (rule, B, N): the same in every part of the bench. */
function episodeInputs(rule: StepRule, batch: number, n: number, steps = T): { spec: StepSpec; p: CellParams; xs: F32[] } {
  const spec: StepSpec = { rule, batch, n, inputSize: INPUT_SIZE };
  return { spec, p: cellParams(spec), xs: Array.from({ length: steps }, (_, t) => randomData(batch * INPUT_SIZE, 100 + t)) };
}

function sameSize([b1, n1]: readonly [number, number], [b2, n2]: readonly [number, number]): boolean {
  return b1 === b2 && n1 === n2;
}

/** `BxN`, as in --sizes 30x200. */
function parseSize(text: string): [number, number] {
  const [b, n] = text.split('x').map(Number);
  if (!(Number.isInteger(b) && b > 0 && Number.isInteger(n) && n > 0)) throw new RangeError(`bench:kernels: --sizes takes BxN[,BxN...], got '${text}'`);
  return [b, n];
}

function noAdapter(): never {
  throw new Error('bench:kernels: no WebGPU adapter (scripts/setup.sh installs Mesa lavapipe); not falling back to the CPU');
}

interface OurLib extends PlasticLib {
  /** An episode whose model keeps every `checkpointEvery`-th trace and recomputes the others (1: store all). */
  episodeWith(spec: StepSpec, p: CellParams, xs: readonly F32[], checkpointEvery: number): Promise<Case>;
}

/** Our PlasticRNN through the public API, on one backend, with the fused kernels or the reference composition. */
function ourLib(name: string, backend: Backend, kernel: 'fused' | 'reference', about: Pick<PlasticLib, 'kind' | 'adapter'>): OurLib {
  const activate = async () => setBackend(backend); // tensors are created on the current backend
  /** A PlasticRNN holding the peers' parameters (its output heads keep their own and never run). */
  const model = (spec: StepSpec, p: CellParams, checkpointEvery = 1) => {
    const { rule, n, inputSize } = spec;
    setBackend(backend);
    const rnn = new PlasticRNN({ inputSize, hiddenSize: n, numActions: 2, plasticity: rule, kernel, checkpointEvery, rng: new Rng(1) });
    rnn.loadStateDict(
      {
        'i2h.weight': { data: p.win, shape: [n, inputSize] },
        'i2h.bias': { data: p.bIn, shape: [n] },
        w: { data: p.w, shape: [n, n] },
        alpha: { data: p.alpha, shape: [n, n] },
        'h2DA.weight': { data: p.wDA, shape: [1, n] },
        'h2DA.bias': { data: p.bDA, shape: [1] },
        ...(rule === 'retroactive' ? { etaet: { data: p.eta, shape: [1] } } : {}),
      },
      { strict: false },
    );
    return rnn;
  };
  const inputs = (spec: StepSpec, xs: readonly F32[]) => xs.map((x) => tensor(x, [spec.batch, spec.inputSize]));
  /** Σ of every h over the episode, with the gradients left on the parameters. */
  const episodeLoss = (rnn: PlasticRNN, spec: StepSpec, xs: Tensor[]) =>
    tidy(() => {
      let state = rnn.initialState(spec.batch);
      let loss: Tensor | null = null;
      for (const x of xs) {
        const next = rnn.advance(x, state).state;
        // The graph holds what backward needs (every trace, or only the checkpoints); tidy would
        // hold every step's traces to the end of the episode, and checkpointing would save nothing.
        for (const t of [state.hebb, state.elig]) t?.dispose();
        state = next;
        loss = loss ? add(loss, sum(state.h)) : sum(state.h);
      }
      loss!.backward();
      return loss!;
    });
  return {
    name,
    ...about,
    activate,
    flush: () => backend.flush(),
    sync: () => backend.sync(),
    destroy: () => backend.destroy(),
    async step(spec, p, xData) {
      const rnn = model(spec, p);
      const [x] = inputs(spec, [xData]);
      let state = rnn.initialState(spec.batch);
      return {
        run: () => {
          const prev = state;
          // the step's modulator is freed by tidy; the old state by hand
          noGrad(() =>
            tidy(() => {
              state = rnn.advance(x, prev).state;
              return stateTensors(state);
            }),
          );
          const live = new Set(stateTensors(state));
          for (const t of stateTensors(prev)) if (!live.has(t)) t.dispose();
        },
        dispose: () => {
          for (const t of stateTensors(state)) t.dispose();
          x.dispose();
          rnn.dispose();
        },
      };
    },
    episode: (spec, p, xData) => episodeWith(spec, p, xData, 1),
    episodeWith,
    async values(spec, p, xData) {
      const rnn = model(spec, p);
      const xs = inputs(spec, xData);
      const loss = episodeLoss(rnn, spec, xs);
      const diff = spec.rule === 'retroactive' ? [rnn.w, rnn.alpha!, rnn.etaet!] : [rnn.w, rnn.alpha!];
      const out: EpisodeValues = { loss: await loss.item(), grads: await Promise.all(diff.map(async (t) => Float32Array.from(await t.grad!.data()))) };
      loss.dispose();
      xs.forEach((x) => x.dispose());
      rnn.dispose();
      return out;
    },
  };

  async function episodeWith(spec: StepSpec, p: CellParams, xData: readonly F32[], checkpointEvery: number): Promise<Case> {
    const rnn = model(spec, p, checkpointEvery);
    const xs = inputs(spec, xData);
    return {
      run: () => {
        episodeLoss(rnn, spec, xs).dispose();
        rnn.zeroGrad();
      },
      dispose: () => {
        xs.forEach((x) => x.dispose());
        rnn.dispose();
      },
    };
  }
}

/** The tensors a state holds (the pending update shares `pre` with the previous state's h). */
function stateTensors(s: PlasticRNNState): Tensor[] {
  return [s.h, s.hebb, s.elig, s.pending?.pre, s.pending?.post, s.pending?.mod].filter((t): t is Tensor => !!t);
}

// ---------------------------------------------------------------- kernel cases

/** Our raw vec4 copy kernel over `n` floats: the bandwidth floor. */
function copyCase(backend: WebGPUBackend, n: number): Case {
  const src = backend.upload(randomData(n));
  return { run: () => backend.free(backend.copyRaw(src, n)), dispose: () => backend.free(src) };
}

/** One contiguous copyStrided: the backend records it as the queue's copyBufferToBuffer. */
function bufferCopyCase(backend: WebGPUBackend, n: number): Case {
  const src = backend.upload(randomData(n));
  return {
    run: () => {
      const dst = backend.alloc(n);
      backend.copyStrided(src, { offset: 0, strides: [1] }, dst, { offset: 0, strides: [1] }, [n]);
      backend.free(dst);
    },
    dispose: () => backend.free(src),
  };
}

function plasticKernels(backend: Backend): PlasticKernels {
  const k = backend as Backend & Partial<PlasticKernels>;
  if (!k.plasticStep || !k.hebbUpdate || !k.plasticStepBackward) throw new Error(`the ${backend.name} backend has no plastic kernels`);
  return k as Backend & PlasticKernels;
}

/**
 * One kernel call per run(), below the tensor API: what the autograd layer asks of the backend
 * for one step, with one modulation per episode (M(t), the RL networks) and a full α.
 */
function kernelCase(backend: Backend, kernel: Kernel, rule: StepRule, batch: number, n: number): Case {
  const k = plasticKernels(backend);
  const retro = rule === 'retroactive';
  const g: PlasticGeometry = { batch, n, rule: retro ? 'retroactive' : 'hebbian', clip: 'hard', clipValue: 1, modKind: 'episode', alphaKind: 'full' };
  let seed = 1;
  const owned: Buf[] = [];
  const up = (len: number, scale = 1) => {
    const buf = backend.upload(randomData(len, seed++).map((v) => v * scale));
    owned.push(buf);
    return buf;
  };
  const inp: PlasticStepInputs = {
    hebb: up(batch * n * n),
    elig: retro ? up(batch * n * n) : null,
    pre: up(batch * n),
    post: up(batch * n),
    mod: up(batch),
    eta: retro ? up(1, 0.1) : null,
    x: up(batch * n),
    drive: up(batch * n),
    w: up(n * n, 1 / Math.sqrt(n)),
    alpha: up(n * n, 1 / Math.sqrt(n)),
  };
  const release = (bufs: (Buf | null)[]) => bufs.forEach((b) => b && backend.free(b));
  const dispose = () => release(owned);
  if (kernel === 'hebbUpdate') {
    return { run: () => release(Object.values(k.hebbUpdate(g, inp.hebb, inp.elig, inp.pre, inp.post, inp.mod, inp.eta))), dispose };
  }
  if (kernel === 'forward') return { run: () => release(Object.values(k.plasticStep(g, inp))), dispose };
  // The backward needs the forward's output h; dh, dP' and dE' come from the rest of the graph.
  const fwd = k.plasticStep(g, inp);
  release([fwd.hebb, fwd.elig]);
  owned.push(fwd.h);
  const [dh, dhebb, delig] = [up(batch * n), up(batch * n * n), retro ? up(batch * n * n) : null];
  return { run: () => release(Object.values(k.plasticStepBackward(g, inp, fwd.h, [dh], dhebb, delig))), dispose };
}

// ---------------------------------------------------------------- the peer check

/**
 * Runs one small episode on every library and compares its loss and gradients with our CPU
 * backend: a peer that computed other math would make its timings meaningless. The error is
 * max |a − b| over max |b|, per episode value.
 */
async function checkPeers(): Promise<Record<string, Record<StepRule, number | string>>> {
  const out: Record<string, Record<StepRule, number | string>> = {};
  const rows: Cell[][] = [];
  for (const rule of RULES) {
    const spec: StepSpec = { rule, batch: 2, n: 8, inputSize: 3 };
    const p = cellParams(spec, 7);
    const xs = Array.from({ length: 4 }, (_, t) => randomData(spec.batch * spec.inputSize, 50 + t));
    await oursCpu.activate!();
    const want = await oursCpu.values(spec, p, xs);
    for (const lib of libs.filter((l) => l !== oursCpu)) {
      let result: number | string;
      try {
        await lib.activate?.();
        result = relativeError(await lib.values(spec, p, xs), want);
      } catch (error) {
        result = error instanceof Error ? error.message : String(error);
      }
      (out[lib.name] ??= {} as Record<StepRule, number | string>)[rule] = result;
    }
  }
  for (const [name, r] of Object.entries(out)) rows.push([name, ...RULES.map((rule) => (typeof r[rule] === 'number' ? (r[rule] as number) : 'failed'))]);
  const table: Table = { title: 'check: loss and grads of one episode (B=2, N=8, T=4) against ours-cpu, max |Δ| / max |value|', header: ['lib', ...RULES], rows };
  tables.push(table);
  printTable({ ...table, rows: rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toExponential(1) : c))) });
  for (const [name, r] of Object.entries(out)) for (const rule of RULES) if (typeof r[rule] === 'string') console.log(`check failed: ${name} ${rule}: ${r[rule]}`);
  return out;
}

function relativeError(got: EpisodeValues, want: EpisodeValues): number {
  if (got.grads.length !== want.grads.length) throw new Error(`${got.grads.length} gradients, expected ${want.grads.length}`);
  const pairs: [ArrayLike<number>, ArrayLike<number>][] = [[[got.loss], [want.loss]]];
  got.grads.forEach((g, i) => pairs.push([g, want.grads[i]]));
  let worst = 0;
  for (const [a, b] of pairs) {
    if (a.length !== b.length) throw new Error(`a gradient has ${a.length} elements, expected ${b.length}`);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    worst = Math.max(worst, diff / (scale || 1));
  }
  return worst;
}

// ---------------------------------------------------------------- memory

interface MemoryMode {
  /** Most bytes in use during the episode, above what was in use before it. */
  peakBytes: number;
  /** Most bytes allocated (the pool's free buffers included) during the episode, above the level before. */
  allocatedBytes: number;
  /** The traces the mode must hold at its peak: T (or T/k + k) of them, each k·B·N² floats. */
  modelBytes: number;
  /** Wall time of the fastest episode, ms. */
  ms: number;
}

/**
 * Peak device memory and time of one fused episode, storing every trace and checkpointing. Each
 * episode takes seconds, so the timed runs are the sampled runs themselves (after one warm-up run
 * per mode), alternating modes, rather than the harness's seven per case; the time is the fastest.
 */
async function measureMemory(): Promise<{ rule: StepRule; storeAll: MemoryMode; checkpoint: MemoryMode }[]> {
  const { batch, n, steps, every } = MEMORY;
  const results = [];
  // Modes alternate, so that drifting load hits both alike.
  for (const rule of RULES) {
    console.log(`\n# memory, ${rule} (${((performance.now() - started) / 1000).toFixed(0)} s so far, load ${loadavg()[0].toFixed(2)})`);
    const { spec, p, xs } = episodeInputs(rule, batch, n, steps);
    const traceBytes = (rule === 'retroactive' ? 2 : 1) * batch * n * n * 4;
    const modes = [
      { every: 1, modelBytes: steps * traceBytes, runs: [] as SampledRun[] },
      { every, modelBytes: (Math.ceil(steps / every) + every) * traceBytes, runs: [] as SampledRun[] },
    ];
    try {
      const cases = await Promise.all(modes.map((m) => fused.episodeWith(spec, p, xs, m.every)));
      for (let rep = 0; rep <= MEMORY.reps; rep++) {
        for (const [i, m] of modes.entries()) {
          const run = await sampledRun(webgpu, cases[i]);
          if (rep > 0) m.runs.push(run); // the first run of each mode warms its pipelines and pool
        }
      }
      cases.forEach((c) => c.dispose());
    } catch (error) {
      failures.push({ lib: fused.name, case: `memory ${rule}`, error: error instanceof Error ? error.message : String(error) });
    }
    const [storeAll, checkpoint] = modes.map((m) => ({
      peakBytes: Math.max(...m.runs.map((r) => r.peakBytes)),
      allocatedBytes: Math.max(...m.runs.map((r) => r.allocatedBytes)),
      modelBytes: m.modelBytes,
      ms: Math.min(...m.runs.map((r) => r.ms)),
    }));
    results.push({ rule, storeAll, checkpoint });
  }
  return results;
}

interface SampledRun {
  peakBytes: number;
  allocatedBytes: number;
  ms: number;
}

/**
 * One run of `c` with its wall time and the most bytes in use (and allocated) during it, above
 * the level before. Both only grow between frees, so sampling them just before each free
 * (wrapping `free` on the backend instance for this run) and at the end sees the exact peaks.
 */
async function sampledRun(backend: WebGPUBackend, c: Case): Promise<SampledRun> {
  await backend.sync();
  const base = backend.memory();
  let [inUse, allocated] = [base.bytesInUse, base.bytesAllocated];
  const sample = () => {
    const m = backend.memory();
    [inUse, allocated] = [Math.max(inUse, m.bytesInUse), Math.max(allocated, m.bytesAllocated)];
  };
  const free = backend.free;
  backend.free = (buf: Buf) => {
    sample();
    free.call(backend, buf);
  };
  const t0 = performance.now();
  try {
    c.run();
    await backend.sync();
  } finally {
    backend.free = free;
  }
  const ms = performance.now() - t0;
  sample();
  return { peakBytes: inUse - base.bytesInUse, allocatedBytes: allocated - base.bytesAllocated, ms };
}

// ---------------------------------------------------------------- targets

interface Target {
  met: boolean;
  detail: string;
}

/** The targets at the sizes this run timed (--sizes may leave them out). */
function evaluateTargets(): Record<string, Target> {
  const [tb, tn] = TARGET_SIZE;
  const [sb, sn] = SMALL_SIZE;
  const timed = (size: [number, number]) => SIZES.some((s) => sameSize(s, size));
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
  const out: Record<string, Target> = {};
  for (const rule of RULES) {
    if (timed(TARGET_SIZE)) {
      const name = episodeName(rule, tb, tn);
      const f = msOf(fused.name, name);
      const [best, bestName] = fastest(peerNames, name);
      const [gpuBest, gpuBestName] = fastest(gpuPeerNames, name);
      const ref = msOf(reference.name, name);
      out[`fused fwd+bwd ≥1.5x faster than the best peer (${rule}, B=${tb}, N=${tn})`] = {
        met: best / f >= 1.5,
        detail:
          `${fmt(best / f)}x (fused ${fmt(f / T)} ms/step, best ${bestName || 'none'} ${fmt(best / T)} ms/step; ` +
          `best WebGPU peer ${gpuBestName || 'none'} ${fmt(gpuBest / T)} ms/step, ${fmt(gpuBest / f)}x)`,
      };
      out[`fused fwd+bwd ≥3x faster than the reference composition (${rule}, B=${tb}, N=${tn})`] = {
        met: ref / f >= 3,
        detail: `${fmt(ref / f)}x (reference ${fmt(ref / T)} ms/step)`,
      };
      const floorMs = (floorBytes('episode', rule, tb, tn) / (floorGBps(rule, tb, tn) * 1e6)) * T;
      out[`fused fwd+bwd within 2x of the bytes/bandwidth floor (${rule}, B=${tb}, N=${tn})`] = {
        met: f / floorMs <= 2,
        detail:
          `${fmt(f / floorMs)}x the floor (${fmt(floorMs / T)} ms/step at ${fmt(floorGBps(rule, tb, tn))} GB/s; ` +
          `copyRaw alone ${fmt(copyGBps(rule, tb, tn))} GB/s; copyBufferToBuffer ${fmt(bufferCopyGBps(rule, tb, tn))} GB/s)`,
      };
    }
    if (timed(SMALL_SIZE)) {
      for (const [what, nm, perStep] of [['forward', stepName(rule, sb, sn), 1], ['fwd+bwd', episodeName(rule, sb, sn), T]] as const) {
        const [g, c] = [msOf(fused.name, nm), msOf(oursCpu.name, nm)];
        out[`${what} step at B=${sb}, N=${sn} not slower than plain TypeScript loops (${rule})`] = {
          met: g <= c,
          detail: `fused ${fmt(g / perStep)} ms/step, ours-cpu ${fmt(c / perStep)} ms/step (${fmt(c / g)}x)`,
        };
      }
    }
  }
  for (const m of memory) {
    const [peak, time] = [m.storeAll.peakBytes / m.checkpoint.peakBytes, m.checkpoint.ms / m.storeAll.ms];
    out[`checkpointing cuts peak memory ≥4x for ≤1.5x the time (${m.rule}, T=${MEMORY.steps})`] = {
      met: peak >= 4 && time <= 1.5,
      detail: `peak ${fmt(peak)}x smaller (${fmt(mb(m.storeAll.peakBytes))} → ${fmt(mb(m.checkpoint.peakBytes))} MB), time ${fmt(time)}x`,
    };
  }
  return out;
}
