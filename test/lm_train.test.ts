/**
 * Language-model training on tiny synthetic corpora (float64 CPU): a small model overfits, the
 * AWD preset runs at tiny size (variable BPTT, AR/TAR, α-gradient divisor, ASGD, best-model
 * selection), a run resumed from a mid-epoch checkpoint ends exactly where an uninterrupted one
 * does, and the `train ptb` command writes its log, checkpoint and result.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import * as bp from '../src/autograd/index.js';
import { CpuBackend } from '../src/kernels/cpu/cpu_backend.js';
import type { LmCell } from '../src/models/lm.js';
import { trainPtbCommand } from '../src/tasks/lm_cli.js';
import type { LmLogRecord, LmTrainOptions } from '../src/tasks/lm_options.js';
import { lmPreset } from '../src/tasks/lm_presets.js';
import { sampleSeqLen, trainLm, type LmCorpus } from '../src/tasks/lm_train.js';
import { describeWebGPU, getTestBackends } from './helpers/backends.js';

await getTestBackends();
beforeEach(() => bp.setBackend(new CpuBackend('f64')));

const tmp = mkdtempSync(join(tmpdir(), 'lm-train-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Sentences of a small grammar, as word ids (0 is <eos>). */
function sentences(n: number, seed: number): number[] {
  const rng = new bp.Rng(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = 3 + rng.int(4);
    for (let k = 0; k < len; k++) out.push(1 + ((k * 3 + rng.int(2)) % 11));
    out.push(0);
  }
  return out;
}

const synthetic = (n: number): LmCorpus => ({ vocabSize: 12, train: Int32Array.from(sentences(n, 1)), valid: Int32Array.from(sentences(60, 2)), test: Int32Array.from(sentences(60, 3)) });

function basicOptions(cell: LmCell, extra: Partial<LmTrainOptions> = {}): LmTrainOptions {
  return {
    ...lmPreset({ preset: 'basic', cell, scale: 'smoke', vocabSize: 12, seed: 3 }),
    epochs: 6, epochTokens: null, evalTokens: null, decayStart: 5, lrDecay: 0.5, weightDecay: 0, ...extra,
  };
}

describe('overfitting a tiny corpus', () => {
  // A repeated 5-sentence text: every next word is predictable from the recent context.
  const text = Array.from({ length: 40 }, () => [1, 2, 3, 0, 4, 2, 5, 0, 6, 7, 3, 0, 8, 2, 9, 0, 10, 11, 0]).flat();
  const corpus: LmCorpus = { vocabSize: 12, train: Int32Array.from(text), valid: Int32Array.from(text.slice(0, 200)), test: Int32Array.from(text.slice(0, 200)) };
  for (const cell of ['lstm', 'neuromodulated'] as const) {
    test(`${cell}: training perplexity falls from ~12 to about 1`, async () => {
      const model = { ...basicOptions(cell).model, embeddingSize: 16, hiddenSize: 24, initScale: 0.3 };
      const r = await trainLm(corpus, basicOptions(cell, { model, batchSize: 2, bptt: 10, evalBatchSize: 2, testBatchSize: 2, epochs: 6, decayStart: 6 }));
      expect(r.history[0].trainPpl).toBeGreaterThan(10);
      expect(r.history[r.history.length - 1].trainPpl).toBeLessThan(1.1);
      // Each evaluation column starts from a zero state, so its first words are guesses.
      expect(r.testPpl).toBeLessThan(1.5);
    });
  }
});

describe('the AWD preset at tiny size', () => {
  test('variable BPTT draws lengths around bptt, at least 5 and at most bptt + 10', () => {
    const rng = new bp.Rng(1);
    const lens = Array.from({ length: 2000 }, () => sampleSeqLen(70, rng));
    expect(Math.min(...lens)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...lens)).toBe(80);
    const short = lens.filter((l) => l < 52).length / lens.length; // the bptt/2 branch (≈ 5%)
    expect(short).toBeGreaterThan(0.02);
    expect(short).toBeLessThan(0.09);
  });

  test('trains with locked and embedding dropout, AR/TAR, switches to averaged SGD, tests the best epoch and releases all memory', async () => {
    const opts = lmPreset({ preset: 'awd', cell: 'neuromodulated', scale: 'smoke', vocabSize: 12, seed: 2 });
    expect(opts.model.tied).toBe(true);
    expect(opts.alphaGradDivisor).toBe(opts.model.hiddenSize);
    const records: LmLogRecord[] = [];
    const before = bp.getBackend().memory();
    const r = await trainLm(synthetic(300), { ...opts, epochs: 3, asgdEpoch: 1 }, { log: (x) => records.push(x), logEvery: 3 });
    expect(bp.getBackend().memory(), 'every buffer of the run is released').toEqual(before);
    expect(records.filter((x) => x.type === 'asgd')).toEqual([{ type: 'asgd', epoch: 1 }]);
    expect(r.history.map((h) => h.averaged)).toEqual([false, true, true]);
    const best = r.history.reduce((a, b) => (b.validPpl < a.validPpl ? b : a));
    expect(r.testedEpoch).toBe(best.epoch);
    expect(r.validPpl).toBe(best.validPpl);
    expect(Number.isFinite(r.testPpl) && r.testPpl < 12).toBe(true);
    const lrs = records.flatMap((x) => (x.type === 'progress' ? [x.lr] : []));
    expect(new Set(lrs).size).toBeGreaterThan(1); // lr scaled by seqLen/bptt
  });
});

describeWebGPU('training on WebGPU', (gpu, cpu) => {
  test('the AWD neuromodulated preset trains at tiny size like the float64 CPU, and returns every buffer it took', async () => {
    const opts = { ...lmPreset({ preset: 'awd', cell: 'neuromodulated', scale: 'smoke', vocabSize: 12, seed: 2 }), epochs: 2, asgdEpoch: 1 };
    bp.setBackend(cpu);
    const want = await trainLm(synthetic(300), opts);
    bp.setBackend(gpu);
    await gpu.sync();
    const before = gpu.memory().bytesInUse;
    const got = await trainLm(synthetic(300), opts);
    await gpu.sync();
    expect(gpu.memory().bytesInUse).toBe(before);
    // float32 against float64 over ~20 SGD steps at lr 30: close, not equal.
    expect(Math.abs(got.testPpl - want.testPpl)).toBeLessThan(0.02 * want.testPpl);
  });
});

describe('resume', () => {
  const cases: [string, LmTrainOptions][] = [
    ['basic hebbian', basicOptions('hebbian', { epochs: 2, epochTokens: 400 })],
    ['AWD neuromodulated (after the ASGD switch)', { ...lmPreset({ preset: 'awd', cell: 'neuromodulated', scale: 'smoke', vocabSize: 12, seed: 4 }), epochs: 3, asgdEpoch: 1 }],
  ];
  for (const [name, opts] of cases) {
    test(`${name}: a run restarted from a mid-epoch checkpoint ends exactly like an uninterrupted one`, async () => {
      const corpus = synthetic(300);
      const whole = await trainLm(corpus, opts);
      const path = join(tmp, `${name.replace(/\W+/g, '_')}.safetensors`);
      const crash = (r: LmLogRecord) => {
        if (r.type === 'checkpoint' && r.epoch === 2 && r.midEpoch) throw new Error('simulated crash');
      };
      await expect(trainLm(corpus, opts, { checkpointPath: path, checkpointEvery: 4, log: crash })).rejects.toThrow('simulated crash');
      const records: LmLogRecord[] = [];
      const resumed = await trainLm(corpus, opts, { checkpointPath: path, resume: true, log: (r) => records.push(r) });
      expect(records.find((r) => r.type === 'resume')).toMatchObject({ epoch: 2 });
      expect(resumed.testPpl).toBe(whole.testPpl);
      expect(resumed.history.map((h) => h.validPpl)).toEqual(whole.history.map((h) => h.validPpl));
    });
  }

  test('an abort signal stops after the current step, leaving a checkpoint that resumes exactly', async () => {
    const opts = basicOptions('neuromodulated', { epochs: 2, epochTokens: 400 });
    const corpus = synthetic(300);
    const whole = await trainLm(corpus, opts);
    const path = join(tmp, 'aborted.safetensors');
    const ctl = new AbortController();
    const stopInEpoch2 = (r: LmLogRecord) => {
      if (r.type === 'progress' && r.epoch === 2) ctl.abort();
    };
    await expect(trainLm(corpus, opts, { checkpointPath: path, signal: ctl.signal, logEvery: 3, log: stopInEpoch2 })).rejects.toMatchObject({ name: 'AbortError' });
    const resumed = await trainLm(corpus, opts, { checkpointPath: path, resume: true });
    expect(resumed.testPpl).toBe(whole.testPpl);
  });

  test('refuses a checkpoint written with other options, naming them', async () => {
    const opts = basicOptions('lstm', { epochs: 1, epochTokens: 200 });
    const path = join(tmp, 'other.safetensors');
    await trainLm(synthetic(100), opts, { checkpointPath: path });
    await expect(trainLm(synthetic(100), { ...opts, lr: 0.5, bptt: 10 }, { checkpointPath: path, resume: true })).rejects.toThrow(/different options \(bptt, lr\)/);
  });
});

describe('train ptb (the command)', () => {
  /** A PTB-shaped folder of synthetic text with its SHA256SUMS. */
  function dataDir(): string {
    const dir = mkdtempSync(join(tmp, 'ptb-'));
    const words = (ids: number[]) => ids.map((w) => (w === 0 ? '\n' : ` w${w}`)).join('');
    const files = { 'ptb.train.txt': words(sentences(400, 1)), 'ptb.valid.txt': words(sentences(80, 2)), 'ptb.test.txt': words(sentences(80, 3)) };
    const sums = Object.entries(files).map(([f, t]) => (writeFileSync(join(dir, f), t), `${createHash('sha256').update(t).digest('hex')}  ${f}`));
    writeFileSync(join(dir, 'SHA256SUMS'), sums.join('\n') + '\n');
    return dir;
  }
  const lines: string[] = [];
  const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l) };

  test('trains, writes log.jsonl, checkpoint and result.json; --resume of a finished run only re-tests', async () => {
    const data = dataDir();
    const out = join(tmp, 'run');
    const args = ['--data', data, '--scale', 'smoke', '--cell', 'retroactive', '--backend', 'cpu', '--precision', 'f64', '--out', out, '--log-every', '5'];
    expect(await trainPtbCommand(args, io)).toBe(0);
    for (const f of ['log.jsonl', 'checkpoint.safetensors', 'result.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LmLogRecord);
    expect(log.map((r) => r.type)).toEqual(expect.arrayContaining(['start', 'progress', 'epoch', 'checkpoint', 'test']));
    expect(lines.some((l) => /tok\/s \| ppl \d/.test(l))).toBe(true);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(await trainPtbCommand([...args, '--resume'], io)).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')).testPpl).toBe(result.testPpl);
  });

  test('usage errors exit with 2 and print the help; missing data exits with 1 and says what to do', async () => {
    lines.length = 0;
    expect(await trainPtbCommand(['--cell', 'gru'], io)).toBe(2);
    expect(lines.join('\n')).toMatch(/--cell must be one of lstm, hebbian, neuromodulated, retroactive.*usage: train ptb/s);
    lines.length = 0;
    expect(await trainPtbCommand(['--data', join(tmp, 'nowhere'), '--backend', 'cpu'], io)).toBe(1);
    expect(lines.join('\n')).toMatch(/not found in .*nowhere.*simple-examples/);
  });
});
