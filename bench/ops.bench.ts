/**
 * Op microbenchmarks: matmul GFLOP/s, elementwise GB/s against our raw copy kernel (the bandwidth
 * floor), the cost of one tiny op against a near-empty dispatch, and our WebGPU backend against our
 * CPU backend, with TF.js and jax-js on the same Dawn device in the same run.
 *
 *   XDG_RUNTIME_DIR=/tmp npm run bench:ops [-- --spin]
 *
 * --spin awaits the device without first sleeping through most of the expected device time (see
 * TimeOptions.idle). Prints tables and writes them, with every timing, to bench/results/ops.json.
 * Elementwise ops are judged against the copy by the median of their per-round ratios
 * (harness.pairedRatio): lavapipe's copy bandwidth wanders by 10-30% within a minute here.
 */
import { add, CpuBackend, matmul, setBackend, tanh, tensor, type Backend, type Tensor } from '../src/index.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import {
  machineInfo,
  pairedRatio,
  printTable,
  randomData,
  timeCases,
  writeResults,
  type Case,
  type Cell,
  type Lib,
  type Table,
  type TimeOptions,
  type Timing,
  type Unavailable,
} from './harness.js';
import { installWebGPU, loadPeers } from './peers.js';

const MATMUL_SIZES = [128, 256, 512, 1024];
/** Our CPU backend is plain loops: only the small sizes finish in reasonable time. */
const CPU_MATMUL_MAX = 256;
const ELEMENTWISE_MB = [1, 5, 20];
const floatsIn = (mb: number) => (mb * 2 ** 20) / 4;
/** Bytes one op moves per element, reads plus writes. */
const BYTES_PER_ELEMENT = { add: 12, tanh: 8, copyRaw: 8 };
const TINY = 64;
/** The tiny-op batch: record this many, then sync once. */
const TINY_COUNT = 1000;
/** Elements of the near-empty dispatch: one vec4. */
const EMPTY = 4;

const args = process.argv.slice(2);
const command = `XDG_RUNTIME_DIR=/tmp npm run bench:ops${args.length ? ` -- ${args.join(' ')}` : ''}`;
const timeOpts: TimeOptions = { idle: !args.includes('--spin'), reps: 7, minBatchMs: 100 };
const started = performance.now();
console.log(`# ${command}`);

// The Dawn instance must exist before the peers load; `gpu` stays referenced to the end.
const gpu = await installWebGPU();
const gpuBackend = await createWebGPUBackend({ gpu });
if (!gpuBackend) throw new Error('bench:ops: no WebGPU adapter (scripts/setup.sh installs Mesa lavapipe); not falling back to the CPU');
const ours = ourLib('ours-webgpu', gpuBackend, { kind: 'webgpu', adapter: gpuBackend.gpu.device.adapterInfo.description });
const oursCpu = ourLib('ours-cpu', new CpuBackend('f32'), { kind: 'cpu', adapter: 'TypeScript loops, float32' });
const loaded = await loadPeers();
const peers = loaded.filter((p): p is Lib => !('reason' in p));
const unavailable = loaded.filter((p): p is Unavailable => 'reason' in p);
const libs = [ours, ...peers, oursCpu];
const gpuLibs = libs.filter((l) => l.kind === 'webgpu');

const machine = machineInfo(ours.adapter);
console.log(`# ${JSON.stringify(machine)}`);
for (const lib of libs) console.log(`#   ${lib.name}: ${lib.adapter}`);
for (const u of unavailable) console.log(`#   ${u.name}: unavailable: ${u.reason}`);

/** Every timing of the run by `${lib}: ${case}`; a case that threw is in `failures` instead. */
const timings = new Map<string, Timing>();
const failures: { lib: string; case: string; error: string }[] = [];
const tables: Table[] = [];
/** NaN when the case failed: it propagates through the ratios and prints as '–'. */
const msPerOp = (lib: Lib, name: string) => timings.get(`${lib.name}: ${name}`)?.msPerOp ?? NaN;

// ---- 1. matmul
for (const n of MATMUL_SIZES) {
  const sized = libs.filter((lib) => lib !== oursCpu || n <= CPU_MATMUL_MAX);
  await measure(sized.map((lib) => ({ lib, name: `matmul ${n}`, make: () => lib.matmul(n) })));
}
const gflops = (lib: Lib, n: number) => (2 * n ** 3) / (msPerOp(lib, `matmul ${n}`) * 1e6);
report({
  title: 'matmul [n×n]·[n×n] float32, GFLOP/s (cpu libs for scale: TF.js-wasm is WASM SIMD)',
  header: ['n', ...libs.map((l) => l.name)],
  rows: MATMUL_SIZES.map((n) => [n, ...libs.map((l) => gflops(l, n))]),
});

// ---- 2. elementwise bandwidth against the raw copy kernel
const elementwise = ['add', 'tanh'] as const;
for (const mb of ELEMENTWISE_MB) {
  const n = floatsIn(mb);
  await measure([
    { lib: ours, name: `copyRaw ${mb} MB`, make: () => copyCase(gpuBackend, n) },
    ...gpuLibs.flatMap((lib) => elementwise.map((op) => ({ lib, name: `${op} ${mb} MB`, make: () => lib.elementwise(op, n) }))),
  ]);
}
const gbps = (lib: Lib, op: keyof typeof BYTES_PER_ELEMENT, mb: number) =>
  (BYTES_PER_ELEMENT[op] * floatsIn(mb)) / (msPerOp(lib, `${op} ${mb} MB`) * 1e6);
/** Ours over the copy's GB/s, from their batches paired by round (harness.pairedRatio); NaN if either failed. */
const copyRatio = (op: (typeof elementwise)[number], mb: number) => {
  const [t, copy] = [timings.get(`${ours.name}: ${op} ${mb} MB`), timings.get(`${ours.name}: copyRaw ${mb} MB`)];
  return t && copy ? (BYTES_PER_ELEMENT[op] / BYTES_PER_ELEMENT.copyRaw) * pairedRatio(copy, t) : NaN;
};
report({
  title: 'elementwise, GB/s (reads + writes; size of one tensor; ours/copy: the median of the per-round ratios; target ≥ 0.7 from 5 MB)',
  header: ['op', 'size', 'copyRaw', 'ours', 'ours/copy', ...gpuLibs.slice(1).map((l) => l.name)],
  rows: ELEMENTWISE_MB.flatMap((mb) =>
    elementwise.map((op) => [
      op,
      `${mb} MB`,
      gbps(ours, 'copyRaw', mb),
      gbps(ours, op, mb),
      copyRatio(op, mb),
      ...gpuLibs.slice(1).map((l) => gbps(l, op, mb)),
    ]),
  ),
});

// ---- 3. one tiny op in a batched encoder, against a near-empty dispatch
const tinyOpts: TimeOptions = { ...timeOpts, count: TINY_COUNT };
const emptyCase = `copyRaw [${EMPTY}] (near-empty dispatch)`;
const tinyCase = `add [${TINY}]`;
await measure(
  [
    { lib: ours, name: emptyCase, make: () => copyCase(gpuBackend, EMPTY) },
    ...[...gpuLibs, oursCpu].map((lib) => ({ lib, name: tinyCase, make: () => lib.elementwise('add', TINY) })),
  ],
  tinyOpts,
);
const tinyRatio = msPerOp(ours, tinyCase) / msPerOp(ours, emptyCase);
const tinyRows = [[ours, emptyCase] as const, ...[...gpuLibs, oursCpu].map((l) => [l, tinyCase] as const)];
report({
  title: `tiny op: ${TINY_COUNT} recorded, then one sync; µs per op (host: the recording alone, JS and Dawn)`,
  header: ['case', 'µs/op', 'host µs/op'],
  rows: tinyRows.map(([lib, name]) => {
    const t = timings.get(`${lib.name}: ${name}`);
    return [`${lib.name} ${name}`, (t?.msPerOp ?? NaN) * 1e3, (t?.recordMsPerOp ?? NaN) * 1e3];
  }),
});

// ---- 4. our WebGPU backend against our CPU backend (both measured above)
const versus = (name: string, unit: 'µs' | 'ms'): Cell[] => {
  const [gpuMs, cpuMs] = [msPerOp(ours, name), msPerOp(oursCpu, name)];
  const scale = unit === 'µs' ? 1e3 : 1;
  return [`${name}, ${unit}`, gpuMs * scale, cpuMs * scale, cpuMs / gpuMs];
};
report({
  title: 'ours: WebGPU (lavapipe) against the CPU backend',
  header: ['case', 'webgpu', 'cpu', 'cpu/webgpu'],
  rows: [versus(tinyCase, 'µs'), versus('matmul 256', 'ms')],
});

const worstCopyRatio = Math.min(...ELEMENTWISE_MB.filter((mb) => mb >= 5).flatMap((mb) => elementwise.map((op) => copyRatio(op, mb))));
const targets = {
  elementwiseOverCopy: { worstFrom5MB: worstCopyRatio, met: worstCopyRatio >= 0.7 },
  tinyOverEmpty: { ratio: tinyRatio, met: tinyRatio <= 2 },
};
console.log(`\ntarget elementwise/copy ≥ 0.7 from 5 MB: worst ${worstCopyRatio.toFixed(2)}, ${targets.elementwiseOverCopy.met ? 'met' : 'MISSED'}`);
console.log(`target tiny add ≤ 2× near-empty dispatch: ${tinyRatio.toFixed(2)}, ${targets.tinyOverEmpty.met ? 'met' : 'MISSED'}`);
for (const f of failures) console.log(`failed: ${f.lib} ${f.case}: ${f.error}`);

const path = writeResults('ops', {
  command,
  machine,
  settings: timeOpts,
  libs: libs.map(({ name, kind, adapter }) => ({ name, kind, adapter })),
  unavailable,
  failures,
  targets,
  tables,
  timings: Object.fromEntries(timings),
});
console.log(`\nwrote ${path} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
for (const lib of libs) lib.destroy();
if (failures.some((f) => f.lib.startsWith('ours'))) process.exitCode = 1;

// ---------------------------------------------------------------- helpers

interface Item {
  lib: Lib;
  name: string;
  make: () => Promise<Case> | Case;
}

/**
 * Times a group of cases, interleaved so their ratios hold under drifting load, and frees their
 * inputs. A case that throws (a peer's kernel failing, say) is recorded as a failure and shows as
 * '–', so one library cannot take the whole run down.
 */
async function measure(items: Item[], opts = timeOpts): Promise<void> {
  const fail = (item: Item, error: unknown) =>
    failures.push({ lib: item.lib.name, case: item.name, error: error instanceof Error ? error.message : String(error) });
  const ready: (Item & { c: Case })[] = [];
  for (const item of items) {
    try {
      ready.push({ ...item, c: await item.make() });
    } catch (error) {
      fail(item, error);
    }
  }
  const results = await timeCases(ready, opts);
  ready.forEach((item, i) => {
    const result = results[i];
    if (result instanceof Error) fail(item, result);
    else timings.set(`${item.lib.name}: ${item.name}`, result);
    item.c.dispose();
  });
}

function report(table: Table): void {
  tables.push(table);
  printTable(table);
}

/** Our engine through its public API: tensors and ops, as a user would call them. */
function ourLib(name: string, backend: Backend, about: Pick<Lib, 'kind' | 'adapter'>): Lib {
  const make = async (shapes: number[][], op: (...xs: Tensor[]) => Tensor): Promise<Case> => {
    setBackend(backend); // tensor() creates on the current backend; ops follow their inputs
    const xs = shapes.map((s, i) => tensor(randomData(s.reduce((a, b) => a * b, 1), i + 1), s));
    return { run: () => op(...xs).dispose(), dispose: () => xs.forEach((x) => x.dispose()) };
  };
  return {
    name,
    ...about,
    flush: () => backend.flush(),
    sync: () => backend.sync(),
    destroy: () => backend.destroy(),
    matmul: (n) => make([[n, n], [n, n]], (a, b) => matmul(a, b)),
    elementwise: (op, n) => (op === 'add' ? make([[n], [n]], (a, b) => add(a, b)) : make([[n]], (x) => tanh(x))),
  };
}

/** Our raw vec4 copy kernel, below the tensor API: the bandwidth floor and the near-empty dispatch. */
function copyCase(backend: WebGPUBackend, n: number): Case {
  const src = backend.upload(randomData(n));
  return { run: () => backend.free(backend.copyRaw(src, n)), dispose: () => backend.free(src) };
}
