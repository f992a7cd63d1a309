/**
 * Penn Treebank for word-level language modelling (PAPER.md §2.3): Mikolov's `simple-examples`
 * files ptb.{train,valid,test}.txt, the ones AWD-LSTM's getdata.sh fetches. 929k/73k/82k words,
 * a 10,000-word vocabulary with `<eos>` for line ends (rare words are already `<unk>`).
 *
 * The files are never bundled: they are read from a folder given by option or by the environment
 * variable BACKPROPAMINE_DATA (which may name the folder itself or a folder holding `ptb/`), and
 * checked against SHA-256 sums before use, so a truncated download cannot silently change the
 * perplexities.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const PTB_FILES = ['ptb.train.txt', 'ptb.valid.txt', 'ptb.test.txt'] as const;
export type PtbFile = (typeof PTB_FILES)[number];

/** SHA-256 of the standard files; used when the folder has no SHA256SUMS, and to tell whether a corpus is standard. */
export const PTB_SHA256: Readonly<Record<PtbFile, string>> = {
  'ptb.train.txt': 'fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf',
  'ptb.valid.txt': 'c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2',
  'ptb.test.txt': 'dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0',
};

export const PTB_URL = 'http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz';
export const DATA_ENV = 'BACKPROPAMINE_DATA';
export const EOS = '<eos>';

const HOW_TO_GET =
  `Download ${PTB_URL}, unpack it, and copy simple-examples/data/ptb.{train,valid,test}.txt ` +
  `into one folder; then pass that folder (--data DIR) or set ${DATA_ENV} to it or to its parent.`;

/** Word ↔ id, ids in order of first appearance in the training text (as PyTorch's word_language_model). */
export class Vocab {
  readonly words: string[] = [];
  readonly #ids = new Map<string, number>();

  add(word: string): number {
    let id = this.#ids.get(word);
    if (id === undefined) {
      id = this.words.length;
      this.words.push(word);
      this.#ids.set(word, id);
    }
    return id;
  }

  id(word: string): number | undefined {
    return this.#ids.get(word);
  }

  get size(): number {
    return this.words.length;
  }
}

export interface Corpus {
  vocab: Vocab;
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
  /** The folder the files came from. */
  dir: string;
  /** Whether all three files are the standard PTB text (their hashes equal PTB_SHA256). */
  standard: boolean;
}

export interface PtbOptions {
  /** The folder with the three files, or a folder holding `ptb/`. Default: $BACKPROPAMINE_DATA. */
  dir?: string;
  /** Check the files' SHA-256 (default true): against the folder's SHA256SUMS if present, else PTB_SHA256. */
  verify?: boolean;
}

/** The folder holding ptb.train.txt, from `dir` or $BACKPROPAMINE_DATA; throws saying how to fix it. */
export function resolvePtbDir(dir?: string): string {
  const given = dir ?? process.env[DATA_ENV];
  if (!given) throw new Error(`Penn Treebank: no data folder given. ${HOW_TO_GET}`);
  const root = resolve(given);
  for (const d of [join(root, 'ptb'), root]) if (existsSync(join(d, PTB_FILES[0]))) return d;
  const missing = PTB_FILES.filter((f) => !existsSync(join(root, f)));
  throw new Error(`Penn Treebank: ${missing.join(', ')} not found in ${root} (nor in ${join(root, 'ptb')}). ${HOW_TO_GET}`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `<hex>  <name>` lines (sha256sum's format; a `*` before the name marks binary mode). */
function parseSums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(line);
    if (m) sums.set(m[2], m[1].toLowerCase());
  }
  return sums;
}

/**
 * Reads and checks the three files, builds the vocabulary from the training text and maps every
 * split to ids. A word of valid/test missing from the training vocabulary is an error: PTB maps
 * rare words to `<unk>` in all three files, so it can only mean a wrong or edited corpus.
 */
export function loadPtb(opts: PtbOptions = {}): Corpus {
  const dir = resolvePtbDir(opts.dir);
  const missing = PTB_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new Error(`Penn Treebank: ${missing.join(', ')} missing in ${dir}. ${HOW_TO_GET}`);
  const bytes = Object.fromEntries(PTB_FILES.map((f) => [f, readFileSync(join(dir, f))])) as Record<PtbFile, Buffer>;
  const hashes = Object.fromEntries(PTB_FILES.map((f) => [f, sha256(bytes[f])])) as Record<PtbFile, string>;
  if (opts.verify ?? true) verify(dir, hashes);
  const vocab = new Vocab();
  const text = (f: PtbFile) => bytes[f].toString('utf8');
  return {
    vocab,
    train: tokenize(text('ptb.train.txt'), vocab, 'ptb.train.txt', true),
    valid: tokenize(text('ptb.valid.txt'), vocab, 'ptb.valid.txt', false),
    test: tokenize(text('ptb.test.txt'), vocab, 'ptb.test.txt', false),
    dir,
    standard: PTB_FILES.every((f) => hashes[f] === PTB_SHA256[f]),
  };
}

function verify(dir: string, hashes: Record<PtbFile, string>): void {
  const sumsPath = join(dir, 'SHA256SUMS');
  const fromFile = existsSync(sumsPath);
  const expected = fromFile ? parseSums(readFileSync(sumsPath, 'utf8')) : new Map(Object.entries(PTB_SHA256));
  const source = fromFile ? sumsPath : 'the standard PTB checksums';
  const bad: string[] = [];
  for (const f of PTB_FILES) {
    const want = expected.get(f);
    if (!want) bad.push(`${f} has no entry in ${source}`);
    else if (want !== hashes[f]) bad.push(`${f} has SHA-256 ${hashes[f]}, expected ${want}`);
  }
  if (bad.length) {
    throw new Error(
      `Penn Treebank in ${dir} failed its checksum (${source}): ${bad.join('; ')}. ` +
        `The files are truncated, edited or not the standard PTB text. ${HOW_TO_GET} ` +
        'To train on a different corpus on purpose, turn verification off (--no-verify, or verify: false).',
    );
  }
}

/** Words of every line followed by `<eos>`; `grow` adds unseen words, else they are an error. */
export function tokenize(text: string, vocab: Vocab, name: string, grow: boolean): Int32Array {
  const ids: number[] = [];
  const lines = text.split('\n');
  // A final newline ends the last line; it does not start an empty one.
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [n, line] of lines.entries()) {
    const lookup = (word: string) => {
      const id = grow ? vocab.add(word) : vocab.id(word);
      if (id === undefined) throw new Error(`Penn Treebank: ${name} line ${n + 1} has the word '${word}', which the training text never uses`);
      ids.push(id);
    };
    for (const word of line.split(/\s+/)) if (word) lookup(word);
    lookup(EOS);
  }
  return Int32Array.from(ids);
}
