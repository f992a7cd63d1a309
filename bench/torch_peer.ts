/**
 * PyTorch on the CPU as a plastic-step peer of bench:kernels (the optional peer of the issue): the
 * step of bench/torch_peer.py, driven over a pipe. Skipped, with the reason, where no Python with
 * `torch` is found: BACKPROPAMINE_PYTHON, else `python3`, else `/usr/bin/python3` (Debian's
 * python3-torch installs there, which a pyenv `python3` on the PATH does not see).
 *
 * Scheduling as for the other peers (harness.Scheduler): run() counts, flush() sends the count to
 * the Python process, sync() waits for it to finish them; the pipe adds well under a millisecond
 * to a batch of about 100 ms. PyTorch runs 1 thread by default (BACKPROPAMINE_TORCH_THREADS), as
 * in the figures for it and as the WASM peers do.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Case, Unavailable } from './harness.js';
import type { CellParams, EpisodeValues, F32, PlasticLib, StepSpec } from './plastic_peers.js';

// From bench/ or from the bundle in .build/ (scripts/run.mjs).
const SCRIPT = fileURLToPath(new URL('../bench/torch_peer.py', import.meta.url));

/** The first Python that imports torch, or why none does. */
function findPython(): string | Error {
  const candidates = [process.env.BACKPROPAMINE_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p);
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  return new Error(`no Python with torch among ${candidates.join(', ')} (Debian: apt-get install python3-torch)`);
}

/** One request per line, answered in order. */
class Pipe {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = [];
  #stderr = '';

  constructor(python: string) {
    this.#child = spawn(python, [SCRIPT], { stdio: 'pipe' });
    createInterface({ input: this.#child.stdout }).on('line', (line) => this.#waiting.shift()?.resolve(JSON.parse(line)));
    this.#child.stderr.on('data', (d: Buffer) => void (this.#stderr += d.toString()));
    this.#child.on('exit', (code) => {
      const error = new Error(`torch_peer.py exited with ${code}: ${this.#stderr.trim().split('\n').pop() ?? ''}`);
      for (const w of this.#waiting.splice(0)) w.reject(error);
    });
  }

  request(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  }

  close(): void {
    this.#child.stdin.end();
  }
}

const b64 = (a: F32) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: string) => {
  const bytes = Buffer.from(s, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const encodeParams = (p: CellParams) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, b64(v as F32)]));

/** The plastic step in PyTorch as a peer, or why it is unavailable. */
export async function torchPlastic(): Promise<PlasticLib | Unavailable> {
  const name = 'PyTorch-cpu';
  const python = findPython();
  if (python instanceof Error) return { name, reason: python.message };
  const pipe = new Pipe(python);
  try {
    const hello = await pipe.request({ op: 'hello', threads: Number(process.env.BACKPROPAMINE_TORCH_THREADS ?? 1) });
    let nextId = 0;
    let pending: { id: number; count: number } | null = null;
    let running: Promise<unknown> = Promise.resolve();
    const makeCase = async (kind: 'step' | 'episode', spec: StepSpec, p: CellParams, xs: readonly F32[]): Promise<Case> => {
      const id = nextId++;
      await pipe.request({ op: 'case', id, kind, spec, params: encodeParams(p), xs: xs.map(b64) });
      return {
        run: () => {
          if (pending && pending.id !== id) throw new Error('torch peer: a batch mixes two cases (flush between them)');
          pending = { id, count: (pending?.count ?? 0) + 1 };
        },
        // Nothing to report if the peer is already gone: its cases went with it.
        dispose: () => void pipe.request({ op: 'dispose', id }).catch(() => {}),
      };
    };
    return {
      name,
      kind: 'cpu',
      adapter: `PyTorch ${hello.torch}, CPU, ${hello.threads} thread(s)`,
      flush: () => {
        if (!pending) return;
        running = pipe.request({ op: 'run', ...pending });
        pending = null;
      },
      sync: async () => void (await running),
      destroy: () => pipe.close(),
      step: (spec, p, x) => makeCase('step', spec, p, [x]),
      episode: (spec, p, xs) => makeCase('episode', spec, p, xs),
      async values(spec, p, xs): Promise<EpisodeValues> {
        const r = await pipe.request({ op: 'values', spec, params: encodeParams(p), xs: xs.map(b64) });
        return { loss: r.loss as number, grads: (r.grads as string[]).map(f32) };
      },
    };
  } catch (error) {
    pipe.close();
    return { name, reason: error instanceof Error ? error.message : String(error) };
  }
}
