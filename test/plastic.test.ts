/**
 * The fused plastic step against its reference composition of primitive ops, forward and
 * backward, unrolled over several steps, for every rule, clip, modulation and alpha shape; with
 * the clip active on some entries, negative modulation, N not a multiple of the workgroup, B = 1.
 * The reference's own gradients rest on the primitive ops, each checked by finite differences.
 */
import { describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { plasticStep, plasticStepReference, TraceTape } from '../src/autograd/ops/plastic.js';
import type { FloatArray } from '../src/kernels/backend.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import { modulation, runEpisode as run, unroll, variantData, type EpisodeRun as Run, type StepFn } from './helpers/plastic_unroll.js';
import { VARIANTS } from './helpers/plastic_variants.js';

const fused: StepFn = (cfg, a, tape) => plasticStep(cfg, a, tape);
const reference: StepFn = (cfg, a) => plasticStepReference(cfg, a);

function expectClose(name: string, got: FloatArray, want: FloatArray, atol: number, rtol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (atol + rtol * Math.abs(want[i]));
    if (excess > worst) [worst, at] = [excess, i];
  }
  expect(at, `${name}: element ${at} is ${got[at]}, expected ${want[at]}`).toBe(-1);
}

function compare(a: Run, b: Run, atol: number, rtol: number): void {
  expect(a.loss).toBeCloseTo(b.loss, 6);
  expect([...a.grads.keys()].sort()).toEqual([...b.grads.keys()].sort());
  for (const [name, g] of b.grads) expectClose(`grad of ${name}`, a.grads.get(name)!, g, atol, rtol);
}

describe('plasticStep (CPU, float64): fused = reference composition', () => {
  const cpu = new CpuBackend('f64');
  for (const v of VARIANTS) {
    test(v.name, async () => {
      const ref = await run(cpu, v, reference);
      const got = await run(cpu, v, fused);
      // float64 throughout: only summation order differs, amplified a little by the recurrence
      compare(got, ref, 1e-9, 1e-7);
      // The clip and the sign of the modulation must both be exercised, or the test proves little.
      expect(ref.grads.size).toBeGreaterThanOrEqual(v.cfg.rule === 'retroactive' ? 10 : 8);
    });
  }

  test('checkpointing (a tape keeping every 3rd trace) gives the same gradients as storing all', async () => {
    for (const v of [VARIANTS[1], VARIANTS[7]]) {
      const all = await run(cpu, v, fused);
      const tape = await run(cpu, v, fused, 3);
      compare(tape, all, 1e-12, 1e-12);
    }
  });

  test('the graph and the tape leave no buffer behind', async () => {
    const before = cpu.memory().bytesInUse;
    await run(cpu, VARIANTS[7], fused, 4);
    expect(cpu.memory().bytesInUse).toBe(before);
  });

  test('the hard clip is active on some entries and the modulation takes both signs', async () => {
    bp.setBackend(cpu);
    const v = VARIANTS[1];
    const data = variantData(v, 1234);
    const { hebb, mod } = bp.tidy(() => {
      const r = unroll({ ...v, steps: 1 }, data, fused);
      const [h0, u, k, a, b, eta] = ['h0', 'u', 'k', 'fanA', 'fanB', 'eta'].map((n) => r.leaves.get(n)!);
      const m = modulation(v, h0, u, k, a, b, eta);
      // The pre-clip value of step 0's update: beyond ±1 somewhere, within it elsewhere.
      const u0 = bp.add(r.leaves.get('hebb0')!, bp.mul(bp.reshape(m, [v.batch, 1, 1]), bp.outer(h0, h0)));
      r.leaves.forEach((t) => t.dispose());
      return { hebb: u0, mod: m };
    });
    const m = await mod.data();
    expect(Math.min(...m)).toBeLessThan(0);
    expect(Math.max(...m)).toBeGreaterThan(0);
    const u0 = [...(await hebb.data())].map(Math.abs);
    expect(u0.some((x) => x > 1)).toBe(true);
    expect(u0.some((x) => x < 1)).toBe(true);
    hebb.dispose();
    mod.dispose();
  });

  test('bad shapes name the op, the argument and the shapes', () => {
    bp.setBackend(cpu);
    const z = (...s: number[]) => bp.zeros(s);
    const args = { hebb: z(2, 4, 4), pre: z(2, 4), post: z(2, 4), mod: z(1), x: z(2, 4), drive: z(2, 4), w: z(4, 4), alpha: z(4, 4) };
    expect(() => plasticStep({ rule: 'hebbian' }, { ...args, hebb: z(2, 4, 5) })).toThrow('plasticStep: hebb must be [2, 4, 4], got [2,4,5]');
    expect(() => plasticStep({ rule: 'hebbian' }, { ...args, alpha: z(3) })).toThrow(/plasticStep: alpha must be .*got \[3\]/);
    expect(() => plasticStep({ rule: 'retroactive' }, args)).toThrow('plasticStep: the retroactive rule needs elig [2, 4, 4], got none');
    expect(() => new TraceTape(0)).toThrow(/every must be an integer >= 1/);
  });
});
