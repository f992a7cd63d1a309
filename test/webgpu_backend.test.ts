/**
 * Every WebGPUBackend method against the float64 CpuBackend on random non-zero inputs (sizes that
 * are not multiples of the workgroup size, n = 1, broadcasting, transposes, big reductions), plus
 * the machinery around the kernels: pool statistics, compile errors, use after free and destroy.
 * Without an adapter the suite is skipped, unless BACKPROPAMINE_REQUIRE_WEBGPU=1 makes that fail.
 */
import { expect, test } from 'vitest';
import { sizeOf, type Backend, type Buf, type MatmulGeometry } from '../src/kernels/backend.js';
import { DeviceLostError, settleQuietly } from '../src/kernels/webgpu/device.js';
import { compileKernel, KernelCompileError } from '../src/kernels/webgpu/pipelines.js';
import { createWebGPUBackend, type WebGPUBackend } from '../src/kernels/webgpu/webgpu_backend.js';
import { hashUniform } from '../src/kernels/hash.js';
import { kernelTimes, setBackend } from '../src/index.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';
import { assertClose, bits, makeRng, nonZero, uniform, type Sampler, type Tolerance } from './helpers/check_op.js';

await getTestBackends();

const TOL: Tolerance = { atol: 1e-5, rtol: 1e-4 };
const rng = makeRng(20190507);

/** n samples rounded to float32, so both backends see the same inputs. */
function sample(n: number, sampler: Sampler = nonZero()): number[] {
  return Array.from({ length: n }, () => Math.fround(sampler(rng)));
}

describeWebGPU('WebGPUBackend', (backend, cpu) => {
  const gpu = backend as WebGPUBackend;

  /**
   * Uploads `inputs` to both backends, runs `fn` on each, and compares the first `n` elements of
   * the result (or of the in-place buffers fn returns). Frees everything.
   */
  async function compare(
    what: string,
    inputs: readonly number[][],
    fn: (be: Backend, bufs: Buf[]) => Buf | Buf[],
    n: number,
    tol: Tolerance = TOL,
  ): Promise<void> {
    const results: Float64Array[][] = [];
    for (const be of [gpu, cpu]) {
      const bufs = inputs.map((data) => be.upload(data));
      const out = fn(be, bufs);
      const outs = Array.isArray(out) ? out : [out];
      results.push(await Promise.all(outs.map(async (b) => Float64Array.from(await be.read(b, n)))));
      for (const b of new Set([...bufs, ...outs])) be.free(b);
    }
    results[0].forEach((got, i) => assertClose(`${what} (output ${i})`, got, results[1][i], tol));
  }

  test('fill', async () => {
    // up to 16 384 elements a queue write, beyond a dispatch (SMALL_FILL)
    for (const n of [1, 5, 1000, 16_384, 16_385, 300_001]) await compare(`fill ${n}`, [], (be) => be.fill(n, -3.25), n);
  });

  test('a large fill of zeros clears the pooled buffer it reuses, and -0 stays -0', async () => {
    for (const n of [16_385, 300_001]) {
      const sevens = gpu.fill(n, 7);
      await gpu.read(sevens, 1);
      gpu.free(sevens);
      const allocated = gpu.memory().bytesAllocated;
      const zeros = gpu.fill(n, 0);
      expect(gpu.memory().bytesAllocated).toBe(allocated); // the sevens' buffer, not a fresh (zeroed) one
      expect((await gpu.read(zeros, n)).every((v) => Object.is(v, 0))).toBe(true);
      gpu.free(zeros);
      const negative = gpu.fill(n, -0);
      expect((await gpu.read(negative, n)).every((v) => Object.is(v, -0))).toBe(true);
      gpu.free(negative);
    }
  });

  test('unary, every op', async () => {
    const cases: [Parameters<Backend['unary']>[0], Sampler, number?, number?][] = [
      ['neg', nonZero()],
      ['exp', nonZero(0.1, 5)],
      ['log', uniform(0.01, 10)],
      ['sqrt', uniform(0.01, 10)],
      ['tanh', nonZero(0.01, 5)],
      ['sigmoid', nonZero(0.01, 10)],
      ['relu', nonZero()],
      ['abs', nonZero()],
      ['sign', nonZero()],
      ['square', nonZero()],
      ['reciprocal', nonZero()],
      ['pow', nonZero(), 3],
      ['pow', nonZero(), 2],
      ['pow', nonZero(), -1],
      ['pow', nonZero(), 0],
      ['pow', uniform(0.1, 3), 0.5],
      ['clamp', nonZero(), -0.3, 0.4],
      ['affine', nonZero(), 2.5, -1],
      ['step', nonZero(), 0.1],
    ];
    for (const [op, sampler, p0, p1] of cases) {
      for (const n of [1, 67, 1000]) {
        await compare(`unary ${op}(${p0}, ${p1}) n=${n}`, [sample(n, sampler)], (be, [x]) => be.unary(op, x, n, p0, p1), n);
      }
    }
  });

  test('tanh and sigmoid are finite and saturate at ±100', async () => {
    const x = [-100, 100, -30, 30, -1e-3, 1e-3];
    for (const op of ['tanh', 'sigmoid'] as const) {
      await compare(`${op} at extremes`, [x], (be, [b]) => be.unary(op, b, x.length), x.length);
    }
  });

  test('binary, every op, same shapes, scalars and broadcasting', async () => {
    const ops = ['add', 'sub', 'mul', 'div', 'max', 'min', 'eq', 'gt', 'ge', 'lt', 'le', 'tanh_grad', 'sigmoid_grad', 'relu_grad', 'clamp_grad'] as const;
    const shapes: [number[], number[], number[]][] = [
      [[3, 37], [3, 37], [3, 37]],
      [[1], [7, 9], [7, 9]],
      [[7, 9], [], [7, 9]],
      [[6, 8], [8], [6, 8]],
      [[6, 1], [6, 8], [6, 8]],
      [[2, 3, 8], [3, 1], [2, 3, 8]],
      [[3, 1, 5], [4, 5], [3, 4, 5]],
      [[2, 1, 3, 1, 2, 3], [1, 2, 1, 4, 1, 3], [2, 2, 3, 4, 2, 3]],
      [[1], [1], [1]],
    ];
    // Few distinct values, so that eq, ge and le also meet equal operands.
    const coarse: Sampler = (r) => [-1, -0.5, 0.5, 1][Math.floor(r() * 4)];
    for (const op of ops) {
      for (const [aShape, bShape, outShape] of shapes) {
        const n = sizeOf(outShape);
        await compare(
          `binary ${op} [${aShape}] [${bShape}]`,
          [sample(sizeOf(aShape), coarse), sample(sizeOf(bShape), coarse)],
          (be, [a, b]) => be.binary(op, a, aShape, b, bShape, outShape, -0.5, 0.5),
          n,
        );
      }
    }
  });

  test('where with broadcasting', async () => {
    const cases: [number[], number[], number[], number[]][] = [
      [[5, 13], [5, 13], [5, 13], [5, 13]],
      [[5, 1], [13], [5, 13], [5, 13]],
      [[2, 1, 4], [3, 1], [], [2, 3, 4]],
    ];
    for (const [cShape, aShape, bShape, outShape] of cases) {
      await compare(
        `where [${cShape}] [${aShape}] [${bShape}]`,
        [sample(sizeOf(cShape), bits), sample(sizeOf(aShape)), sample(sizeOf(bShape))],
        (be, [c, a, b]) => be.where(c, cShape, a, aShape, b, bShape, outShape),
        sizeOf(outShape),
      );
    }
  });

  test('reduce sum and max, including long rows split over threads', async () => {
    const cases: [number, number, number][] = [
      [1, 1, 1],
      [3, 17, 5],
      [2, 1, 3],
      [7, 3000, 2],
      [1, 1000, 1],
      [4, 5, 1000],
    ];
    for (const op of ['sum', 'max'] as const) {
      for (const [outer, len, inner] of cases) {
        await compare(`reduce ${op} [${outer},${len},${inner}]`, [sample(outer * len * inner)], (be, [x]) => be.reduce(op, x, outer, len, inner), outer * inner, {
          atol: 1e-4,
          rtol: 1e-4,
        });
      }
    }
    // An empty reduction: the sum is 0 and the max −∞, as in the CPU backend.
    await compare('reduce sum, len 0', [[1]], (be, [x]) => be.reduce('sum', x, 2, 0, 3), 6);
    await compare('reduce max, len 0', [[1]], (be, [x]) => be.reduce('max', x, 2, 0, 3), 6);
  });

  test('reduce sum of 1M elements', async () => {
    const n = 1_000_000;
    await compare('sum of 1M', [sample(n, uniform(0.1, 1))], (be, [x]) => be.reduce('sum', x, 1, n, 1), 1, { atol: 0, rtol: 1e-5 });
  });

  test('matmul: vec4 and general kernels, transposes, batch broadcast', async () => {
    const cases: [number, number, number, number, boolean, boolean][] = [
      [1, 1, 1, 1, false, false],
      [1, 37, 29, 43, false, false],
      [2, 36, 28, 44, false, false],
      [2, 36, 28, 44, false, true],
      [2, 36, 28, 44, true, false],
      [2, 36, 28, 44, true, true],
      [3, 33, 20, 12, false, false],
      [3, 33, 20, 12, false, true],
      [2, 5, 7, 3, true, false],
      [2, 5, 7, 3, false, true],
      [2, 5, 7, 3, true, true],
      [1, 3, 0, 4, false, false],
      [1, 64, 200, 128, false, true],
      // TN with k not a multiple of 4: the vec4 kernel and its k tail (k = 1, 7, 30)
      [2, 36, 30, 44, true, false],
      [2, 12, 7, 8, true, false],
      [1, 8, 1, 4, true, false],
      [1, 200, 30, 200, true, false],
    ];
    for (const [batch, m, k, n, transA, transB] of cases) {
      for (const broadcast of ['none', 'a', 'b']) {
        const aBatchStride = broadcast === 'a' ? 0 : m * k;
        const bBatchStride = broadcast === 'b' ? 0 : k * n;
        const g: MatmulGeometry = { batch, m, k, n, transA, transB, aBatchStride, bBatchStride };
        await compare(
          `matmul ${JSON.stringify(g)}`,
          [sample(Math.max(1, (aBatchStride ? batch : 1) * m * k)), sample(Math.max(1, (bBatchStride ? batch : 1) * k * n))],
          (be, [a, b]) => be.matmul(a, b, g),
          batch * m * n,
          { atol: 1e-5 * Math.max(1, k), rtol: 1e-4 },
        );
      }
    }
  });

  test('copyStrided: permutation, offsets, negative strides, rank 6, same buffer', async () => {
    const cases: [number[], number, number[], number, number[], number, number][] = [
      // shape, src offset, src strides, dst offset, dst strides, src length, dst length
      [[3, 4, 5], 0, [1, 15, 3], 0, [20, 5, 1], 60, 60],
      [[4, 6], 30, [-6, 1], 7, [1, 4], 40, 40],
      [[3, 7], 0, [1, 3], 0, [7, 1], 21, 21],
      [[2, 3, 2, 2, 3, 2], 1, [72, 24, 12, 6, 2, 1], 2, [1, 2, 6, 12, 24, 72], 150, 150],
      [[1], 5, [1], 3, [1], 10, 10],
    ];
    for (const [shape, so, ss, d0, ds, sn, dn] of cases) {
      await compare(
        `copyStrided [${shape}]`,
        [sample(sn), sample(dn)],
        (be, [src, dst]) => {
          be.copyStrided(src, { offset: so, strides: ss }, dst, { offset: d0, strides: ds }, shape);
          return dst;
        },
        dn,
      );
    }
    // Within one buffer the GPU reads every source element before writing (via a temporary).
    const x = gpu.upload(Array.from({ length: 12 }, (_, i) => i));
    gpu.copyStrided(x, { offset: 0, strides: [1, 3] }, x, { offset: 0, strides: [4, 1] }, [3, 4]);
    const transposed = Array.from({ length: 12 }, (_, e) => Math.floor(e / 4) + 3 * (e % 4));
    expect(Array.from(await gpu.read(x, 12))).toEqual(transposed);
    gpu.free(x);
  });

  test('gatherRows and scatterAddRows (repeats, unreferenced rows)', async () => {
    const idx = Int32Array.from([3, 0, 9, 3, 3, 7, 0, 2, 9, 3, 1, 5, 3]);
    await compare('gatherRows', [sample(10 * 7)], (be, [t]) => be.gatherRows(t, 10, 7, idx), idx.length * 7);
    await compare('scatterAddRows', [sample(idx.length * 7)], (be, [dy]) => be.scatterAddRows(dy, 12, 7, idx), 12 * 7);
    const one = Int32Array.from([0]);
    await compare('gatherRows 1x1', [sample(1)], (be, [t]) => be.gatherRows(t, 1, 1, one), 1);
    await compare('scatterAddRows 1x1', [sample(1)], (be, [dy]) => be.scatterAddRows(dy, 1, 1, one), 1);
  });

  test('softmax, logSoftmax and cross-entropy are stable for large logits', async () => {
    for (const [rows, cols] of [[1, 1], [5, 37], [3, 1000]]) {
      const x = sample(rows * cols, nonZero(0.1, 100));
      for (const log of [false, true]) {
        await compare(`softmax log=${log} [${rows},${cols}]`, [x], (be, [b]) => be.softmax(b, rows, cols, log), rows * cols, { atol: 1e-5, rtol: 1e-4 });
      }
      const targets = Int32Array.from({ length: rows }, () => Math.floor(rng() * cols));
      await compare(`crossEntropy [${rows},${cols}]`, [x], (be, [b]) => be.crossEntropy(b, rows, cols, targets), rows, { atol: 1e-4, rtol: 1e-5 });
      await compare(
        `crossEntropyBackward [${rows},${cols}]`,
        [x, sample(rows)],
        (be, [b, dy]) => be.crossEntropyBackward(b, dy, rows, cols, targets),
        rows * cols,
      );
    }
  });

  test('dropout keeps exactly the elements hash.ts keeps', async () => {
    const n = 1001;
    const x = sample(n);
    for (const [p, seed] of [[0.3, 1234], [0.1, 0xdeadbeef], [0, 7], [1, 7]]) {
      await compare(`dropout p=${p}`, [x], (be, [b]) => be.dropout(b, n, p, seed), n);
      const xb = gpu.upload(x);
      const out = gpu.dropout(xb, n, p, seed);
      const got = await gpu.read(out, n);
      gpu.free(xb);
      gpu.free(out);
      for (let i = 0; i < n; i++) expect(got[i] !== 0, `dropout p=${p} element ${i}`).toBe(hashUniform(seed, i) >= p);
    }
  });

  test('adamStep and sgdStep match PyTorch semantics, leave elements past n alone', async () => {
    const n = 103;
    const len = 110; // buffers longer than n: the tail must survive
    const adam = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    await compare(
      'adamStep',
      [sample(len), sample(len), sample(len, uniform(0, 0.1)), sample(len, uniform(0, 0.1))],
      (be, [param, grad, m, v]) => {
        be.adamStep(param, grad, m, v, n, { ...adam, step: 1 });
        be.adamStep(param, grad, m, v, n, { ...adam, step: 2 });
        return [param, m, v];
      },
      len,
    );
    for (const momentum of [0, 0.9]) {
      await compare(
        `sgdStep momentum=${momentum}`,
        [sample(len), sample(len), sample(len)],
        (be, [param, grad, mom]) => {
          const buf = momentum ? mom : null;
          be.sgdStep(param, grad, buf, n, { lr: 0.1, momentum, weightDecay: 0.01, firstStep: true });
          be.sgdStep(param, grad, buf, n, { lr: 0.1, momentum, weightDecay: 0.01, firstStep: false });
          return [param, mom];
        },
        len,
      );
    }
  });

  test('dispatches of more than 65535 workgroups use a 2-D grid', async () => {
    const n = 4 * 64 * 65536 + 5; // 65537 workgroups of 64 vec4 threads
    const ones = gpu.fill(n, 1);
    const threes = gpu.unary('affine', ones, n, 2, 1);
    const sum = gpu.reduce('sum', threes, 1, n, 1);
    const tail = gpu.alloc(5);
    gpu.copyStrided(threes, { offset: n - 5, strides: [1] }, tail, { offset: 0, strides: [1] }, [5]);
    expect((await gpu.read(sum, 1))[0] / (3 * n)).toBeCloseTo(1, 6);
    expect(Array.from(await gpu.read(tail, 5))).toEqual([3, 3, 3, 3, 3]);
    for (const b of [ones, threes, sum, tail]) gpu.free(b);
  });

  test('pool statistics are steady over a loop of alloc, op, free and flush', async () => {
    const step = (): void => {
      const x = gpu.upload(sample(300));
      const y = gpu.unary('tanh', x, 300);
      const z = gpu.matmul(y, x, { batch: 1, m: 10, k: 30, n: 10, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
      const s = gpu.reduce('sum', z, 1, 100, 1);
      for (const b of [x, y, z, s]) gpu.free(b);
      gpu.flush();
    };
    step();
    await gpu.sync();
    const before = gpu.memory();
    for (let i = 0; i < 20; i++) step();
    await gpu.sync();
    expect(gpu.memory()).toEqual(before);
  });

  test('profile: kernelTimes counts every dispatch of each kernel and sums their GPU time; results unchanged', async (ctx) => {
    let prof: WebGPUBackend | null;
    try {
      prof = await createWebGPUBackend({ profile: true });
    } catch (error) {
      if (String(error).includes("no 'timestamp-query' feature")) return ctx.skip();
      throw error;
    }
    const x = sample(300);
    const xb = prof!.upload(x);
    const ys = [0, 1, 2].map(() => prof!.unary('tanh', xb, 300));
    prof!.reduce('sum', ys[0], 1, 300, 1);
    const times = await prof!.kernelTimes();
    expect(times.map((t) => [t.kernel, t.dispatches]).sort()).toEqual([['reduce', 1], ['unary_tanh', 3]]);
    for (const t of times) expect(t.ms).toBeGreaterThan(0);
    assertClose('profiled tanh', (await prof!.read(ys[2], 300)).slice(), x.map(Math.tanh), TOL);
    expect(await prof!.kernelTimes()).toEqual([]); // each call starts over
    prof!.destroy();
    await expect(gpu.kernelTimes()).rejects.toThrow('kernelTimes: the backend was created without { profile: true }');
    setBackend(cpu); // the file's other tests call the backends directly
    await expect(kernelTimes()).rejects.toThrow('kernelTimes: the cpu backend has no profiler');
  });

  test('use after free and bad arguments fail with named errors', () => {
    const x = gpu.upload([1, 2, 3]);
    gpu.free(x);
    expect(() => gpu.unary('exp', x, 3)).toThrow('unary: x was already freed');
    expect(() => gpu.free(x)).toThrow('free: buf was already freed');
    const y = gpu.upload([1, 2, 3]);
    expect(() => gpu.unary('exp', y, 4)).toThrow('unary: x holds 3 elements, needs 4');
    expect(() => gpu.binary('add', y, [3], y, [2], [3])).toThrow('binary: b of shape [2] does not broadcast to [3]');
    expect(() => gpu.fill(-1, 0)).toThrow('fill: element count must be a non-negative integer, got -1');
    expect(() => gpu.fill(2.5, 0)).toThrow('fill: element count must be a non-negative integer, got 2.5');
    expect(() => gpu.addN([y], 3)).toThrow('addN: takes 2 to 7 buffers, got 1');
    expect(() => gpu.addN(Array.from({ length: 8 }, () => y), 3)).toThrow('addN: takes 2 to 7 buffers, got 8');
    expect(() => gpu.addN([y, y], 4)).toThrow('addN: buffer 0 holds 3 elements, fewer than n = 4');
    expect(() => gpu.gatherRows(y, 3, 1, Int32Array.from([3]))).toThrow('gatherRows: idx[0] = 3 is out of range [0, 3)');
    expect(() => gpu.adamStep(y, y, y, y, 3, { lr: 1, beta1: 0.9, beta2: 0.9, eps: 1, weightDecay: 0, step: 1 })).toThrow(
      'adamStep: grad and param are the same buffer',
    );
    gpu.free(y);
  });

  test('a broken shader fails with KernelCompileError naming the file and line', async () => {
    const broken = ['struct Params { n: u32 }', '@group(1) @binding(0) var<uniform> p: Params;', '@compute @workgroup_size(WG)', 'fn main() { let x: u32 = 1.5; }'].join('\n');
    const error = await compileKernel(gpu.gpu.device, 'broken.wgsl', broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as Error).message).toMatch(/broken\.wgsl \[4:\d+\]/);
  });

  test('an error in a file appended to a kernel names that file and its own line', async () => {
    const kernel = ['struct Params { n: u32 }', '@group(1) @binding(0) var<uniform> p: Params;', '@compute @workgroup_size(WG)', 'fn main() { _ = helper(); }'].join('\n');
    const helper = ['// a helper', 'fn helper() -> u32 { let x: u32 = 1.5; return x; }'].join('\n');
    const files = [{ file: 'kernel.wgsl', text: kernel }, { file: 'helper.wgsl', text: helper }];
    const error = await compileKernel(gpu.gpu.device, 'kernel.wgsl', files).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelCompileError);
    expect((error as Error).message).toMatch(/helper\.wgsl \[2:\d+\]/);
  });

  test('an enabled WGSL extension compiles, and errors keep their line numbers', async () => {
    expect(gpu.gpu.subgroups).toBe(true); // lavapipe (AVX2) and the GPUs we target have subgroups of 8 or more
    const kernel = (bad: string) =>
      ['struct Params { n: u32 }', '@group(1) @binding(0) var<uniform> p: Params;', '@compute @workgroup_size(WG)', `fn main() { _ = subgroupAdd(1.0); ${bad} }`].join('\n');
    await expect(compileKernel(gpu.gpu.device, 'sg.wgsl', kernel(''), undefined, {}, ['subgroups'])).resolves.toBeDefined();
    const without = await compileKernel(gpu.gpu.device, 'sg.wgsl', kernel('')).catch((e: unknown) => e);
    expect(without).toBeInstanceOf(KernelCompileError);
    const broken = await compileKernel(gpu.gpu.device, 'sg.wgsl', kernel('let x: u32 = 1.5;'), undefined, {}, ['subgroups']).catch((e: unknown) => e);
    expect((broken as Error).message).toMatch(/sg\.wgsl \[4:\d+\]/);
  });

  test('storage bindings may be declared in any file and order, numbered 0, 1, 2, ... without gaps', async () => {
    const decl = (b: number, access: string) => `@group(0) @binding(${b}) var<storage, ${access}> x${b}: array<f32>;`;
    const kernel = (...decls: string[]) =>
      [...decls, 'struct Params { n: u32 }', '@group(1) @binding(0) var<uniform> p: Params;', '@compute @workgroup_size(WG)', 'fn main() { x2[0] = x0[0] + x1[0] + f32(p.n); }'].join('\n');
    const helper = (...decls: string[]) => ({ file: 'helper.wgsl', text: decls.join('\n') });
    const compiled = await compileKernel(gpu.gpu.device, 'kernel.wgsl', [{ file: 'kernel.wgsl', text: kernel(decl(2, 'read_write')) }, helper(decl(1, 'read'), decl(0, 'read'))]);
    expect(compiled.name).toBe('kernel.wgsl');
    const gap = await compileKernel(gpu.gpu.device, 'gap.wgsl', [{ file: 'gap.wgsl', text: kernel(decl(2, 'read_write')) }, helper(decl(0, 'read'))]).catch((e: unknown) => e);
    expect(gap).toBeInstanceOf(KernelCompileError);
    expect((gap as Error).message).toMatch(/gap\.wgsl: .*@binding\(1\) is missing/);
    const twice = await compileKernel(gpu.gpu.device, 'twice.wgsl', kernel(decl(0, 'read'), decl(1, 'read'), decl(1, 'read'))).catch((e: unknown) => e);
    expect((twice as Error).message).toMatch(/twice\.wgsl: group 0 @binding\(1\) is declared twice/);
  });

  test('an uncaptured validation error is thrown at the next flush', () => {
    gpu.gpu.device.createBuffer({ size: 7, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    return new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => {
      expect(() => gpu.flush()).toThrow(/WebGPU GPUValidationError/);
      expect(() => gpu.flush()).not.toThrow();
    });
  });

  test('a full uniform ring is submitted early; reads after destroy fail clearly', async () => {
    const other = (await createWebGPUBackend({ batchSize: 5000 }))!;
    let x = other.fill(5, 0);
    for (let i = 0; i < 1500; i++) {
      const next = other.unary('affine', x, 5, 1, 1);
      other.free(x);
      x = next;
    }
    expect(Array.from(await other.read(x, 5))).toEqual([1500, 1500, 1500, 1500, 1500]);
    const pending = other.read(x, 5);
    other.destroy();
    await expect(pending).rejects.toBeInstanceOf(DeviceLostError);
    await expect(other.read(x, 5)).rejects.toThrow(/read: WebGPU device was destroyed/);
    expect(() => other.fill(3, 1)).toThrow(DeviceLostError);
  });
});

test('settleQuietly settles as its promise does, also after it has begun to sleep', async () => {
  const later = <T>(ms: number, settle: (resolve: (v: T) => void, reject: (e: unknown) => void) => void) =>
    new Promise<T>((resolve, reject) => setTimeout(() => settle(resolve, reject), ms));
  expect(await settleQuietly(Promise.resolve(3))).toBe(3);
  expect(await settleQuietly(later(20, (resolve) => resolve('late')))).toBe('late');
  const error = new Error('device said no');
  await expect(settleQuietly(later(20, (_, reject) => reject(error)))).rejects.toBe(error);
  await expect(settleQuietly(Promise.reject(error))).rejects.toBe(error);
});
