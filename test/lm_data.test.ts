/**
 * The Penn Treebank loader: vocabulary, tokenisation, checksums, the errors that say what to do,
 * and Zaremba's batching; on a synthetic corpus in a temp dir, and on the real files when
 * BACKPROPAMINE_DATA points at them.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { batchify, getBatch } from '../src/tasks/lm_batch.js';
import { loadPtb, resolvePtbDir } from '../src/tasks/ptb.js';

const TEXT: Record<string, string> = {
  'ptb.train.txt': ' the cat sat \n the dog <unk> \n',
  'ptb.valid.txt': ' the dog sat \n',
  'ptb.test.txt': ' <unk> cat \n the \n',
};

/** Writes the synthetic corpus (and, unless told otherwise, a matching SHA256SUMS) into `dir` (default: a new temp dir). */
function corpusDir(opts: { sums?: boolean; files?: Record<string, string> } = {}, dir = mkdtempSync(join(tmpdir(), 'ptb-'))): string {
  mkdirSync(dir, { recursive: true });
  const files = opts.files ?? TEXT;
  for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, f), t);
  if (opts.sums ?? true) {
    const sums = Object.entries(files).map(([f, t]) => `${createHash('sha256').update(t).digest('hex')}  ${f}`);
    writeFileSync(join(dir, 'SHA256SUMS'), sums.join('\n') + '\n');
  }
  return dir;
}

const saved = process.env.BACKPROPAMINE_DATA;
const dirs: string[] = [];
beforeEach(() => {
  delete process.env.BACKPROPAMINE_DATA;
});
afterEach(() => {
  if (saved === undefined) delete process.env.BACKPROPAMINE_DATA;
  else process.env.BACKPROPAMINE_DATA = saved;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tracked = (d: string) => (dirs.push(d), d);

describe('loadPtb on a synthetic corpus', () => {
  test('builds the vocabulary from the training text in order of appearance, <eos> ending every line', () => {
    const c = loadPtb({ dir: tracked(corpusDir()) });
    expect(c.vocab.words).toEqual(['the', 'cat', 'sat', '<eos>', 'dog', '<unk>']);
    expect(Array.from(c.train)).toEqual([0, 1, 2, 3, 0, 4, 5, 3]);
    expect(Array.from(c.valid)).toEqual([0, 4, 2, 3]);
    expect(Array.from(c.test)).toEqual([5, 1, 3, 0, 3]);
    expect(c.standard).toBe(false);
  });

  test('finds the files through BACKPROPAMINE_DATA, directly or in its ptb/ folder', () => {
    const root = tracked(mkdtempSync(join(tmpdir(), 'data-')));
    corpusDir({}, join(root, 'ptb'));
    process.env.BACKPROPAMINE_DATA = root;
    expect(resolvePtbDir()).toBe(join(root, 'ptb'));
    const direct = tracked(corpusDir());
    process.env.BACKPROPAMINE_DATA = direct;
    expect(loadPtb().vocab.size).toBe(6);
  });

  test('with no folder given, the error says where to get the data and how to point at it', () => {
    expect(() => loadPtb()).toThrow(/no data folder given.*simple-examples\.tgz.*--data DIR.*BACKPROPAMINE_DATA/);
  });

  test('a missing file is named, with the download instructions', () => {
    const dir = tracked(corpusDir({ files: { 'ptb.train.txt': TEXT['ptb.train.txt'], 'ptb.test.txt': TEXT['ptb.test.txt'] }, sums: false }));
    expect(() => loadPtb({ dir })).toThrow(/ptb\.valid\.txt missing in .*simple-examples\.tgz/);
  });

  test('a file that does not match SHA256SUMS is an error that names it and offers --no-verify', () => {
    const dir = tracked(corpusDir());
    writeFileSync(join(dir, 'ptb.valid.txt'), ' the cat \n'); // edited after the sums were written
    const err = (() => {
      try {
        loadPtb({ dir });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).toMatch(/failed its checksum/);
    expect(err).toMatch(/ptb\.valid\.txt has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
    expect(err).not.toMatch(/ptb\.train\.txt has/);
    expect(err).toMatch(/--no-verify/);
    expect(Array.from(loadPtb({ dir, verify: false }).valid)).toEqual([0, 1, 3]);
  });

  test('without SHA256SUMS the files are checked against the standard PTB sums', () => {
    const dir = tracked(corpusDir({ sums: false }));
    expect(() => loadPtb({ dir })).toThrow(/the standard PTB checksums.*ptb\.train\.txt has SHA-256/);
  });

  test('a word of the test text that training never uses is an error naming it and its line', () => {
    const dir = tracked(corpusDir({ files: { ...TEXT, 'ptb.test.txt': ' the \n the bird \n' } }));
    expect(() => loadPtb({ dir })).toThrow(/ptb\.test\.txt line 2 has the word 'bird'/);
  });
});

describe('batchify and getBatch', () => {
  const stream = Int32Array.from({ length: 23 }, (_, i) => i);

  test('cuts the stream into contiguous columns, time-major, dropping the tail', () => {
    const b = batchify(stream, 4);
    expect([b.batch, b.length]).toEqual([4, 5]);
    // Column k holds tokens 5k .. 5k+4; row t holds the t-th token of every column.
    expect(Array.from(b.data.subarray(0, 4))).toEqual([0, 5, 10, 15]);
    expect(Array.from(b.data.subarray(16, 20))).toEqual([4, 9, 14, 19]);
  });

  test('targets are the inputs shifted by one row; the last segment is shorter', () => {
    const b = batchify(stream, 4);
    const first = getBatch(b, 0, 3);
    expect(first.seqLen).toBe(3);
    expect(Array.from(first.inputs)).toEqual([0, 5, 10, 15, 1, 6, 11, 16, 2, 7, 12, 17]);
    expect(Array.from(first.targets)).toEqual([1, 6, 11, 16, 2, 7, 12, 17, 3, 8, 13, 18]);
    const last = getBatch(b, 3, 3);
    expect(last.seqLen).toBe(1);
    expect(Array.from(last.targets)).toEqual([4, 9, 14, 19]);
    expect(() => getBatch(b, 4, 3)).toThrow(/leaves no targets/);
  });

  test('refuses a batch that leaves columns shorter than 2', () => {
    expect(() => batchify(stream, 12)).toThrow(/too few/);
  });
});

const real = process.env.BACKPROPAMINE_DATA;
const haveReal = !!real && [join(real, 'ptb', 'ptb.train.txt'), join(real, 'ptb.train.txt')].some(existsSync);

describe.skipIf(!haveReal)('the real Penn Treebank ($BACKPROPAMINE_DATA)', () => {
  test('has the standard checksums, a 10,000-word vocabulary and the usual split sizes', () => {
    process.env.BACKPROPAMINE_DATA = real;
    const c = loadPtb();
    expect(c.standard).toBe(true);
    expect(c.vocab.size).toBe(10_000);
    expect([c.train.length, c.valid.length, c.test.length]).toEqual([929_589, 73_760, 82_430]);
  });
});
