/**
 * The `backpropamine` command, run as a user runs it (node bin/backpropamine.mjs): --help lists
 * every option with its default, usage errors exit with 2, train writes its log and checkpoint,
 * evaluate reports a mean reward, and Ctrl-C (SIGINT) saves a checkpoint that --resume continues.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EVALUATE_OPTIONS, parseTrainArgs, TRAIN_OPTIONS } from '../src/cli/options.js';
import { formatDuration, Progress } from '../src/cli/progress.js';

const BIN = new URL('../bin/backpropamine.mjs', import.meta.url).pathname;
const TINY = ['--backend', 'cpu', '--plasticity', 'retroactive', '--hidden-size', '8', '--batch-size', '3', '--episode-length', '12', '--burn-in', '0', '--seed', '3'];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `whileRunning` may act on the child (e.g. send a signal). */
function cli(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => void): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, XDG_RUNTIME_DIR: '/tmp' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    whileRunning?.(child);
  });
}

const logLines = (dir: string) => (existsSync(join(dir, 'log.jsonl')) ? readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').filter(Boolean) : []);

describe('backpropamine CLI', () => {
  test('--help lists every option with its default', async () => {
    const train = await cli(['train', '--help']);
    expect(train.code).toBe(0);
    for (const o of TRAIN_OPTIONS) expect(train.stdout).toMatch(new RegExp(`--${o.name}\\b[^\\n]*\\n[^\\n]*\\[default: [^\\]]+\\]`));
    expect(train.stdout).toContain('[default: cue-reward 2, maze 4]');
    const maze = await cli(['train', 'maze', '--help']);
    expect(maze.stdout).toContain('--maze-size <int>');
    expect(maze.stdout).not.toContain('--cue-size');
    const evaluate = await cli(['evaluate', '--help']);
    for (const o of EVALUATE_OPTIONS) expect(evaluate.stdout).toContain(`--${o.name}`);
    expect((await cli(['--help'])).stdout).toMatch(/train <cue-reward\|maze>[\s\S]*evaluate <run>/);
  });

  test('usage errors say what is wrong; the command exits with 2', async () => {
    const cases: [string[], RegExp][] = [
      [['cue-reward', '--hidden-sise', '3'], /Unknown option '--hidden-sise'/],
      [['maze', '--penalty', '1'], /--penalty is an option of the cue-reward task/],
      [['cue-reward', '--plasticity', 'oja'], /--plasticity must be one of none, hebbian, neuromodulated, retroactive/],
      [['cue-reward', '--lr', 'fast'], /--lr must be a number/],
      [['cue-reward', '--iterations', '1.5'], /--iterations must be an integer/],
      [['pong'], /unknown task 'pong'/],
      [[], /train needs a task/],
    ];
    for (const [args, message] of cases) expect(() => parseTrainArgs(args), args.join(' ')).toThrow(message);
    const r = await cli(['train', 'maze', '--penalty', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--penalty is an option of the cue-reward task\nRun 'backpropamine train --help' for usage/);
    expect((await cli(['fly'])).stderr).toMatch(/unknown command 'fly'/);
  });

  test('options reach the configuration: presets, the paper variant, the authors\' network names', () => {
    const a = parseTrainArgs(['maze', '--plasticity', 'rnn', '--grad-clip', '5', '--maze-size', '11', '--seed', '4']);
    expect('config' in a && a.config).toMatchObject({ task: 'maze', seed: 4, net: { plasticity: 'none', hiddenSize: 139 }, a2c: { gradClip: 5 }, env: { size: 11 } });
    expect('out' in a && a.out).toBe('runs/maze-none-s4');
    const b = parseTrainArgs(['cue-reward', '--variant', 'paper', '--cues', 'onehot', '--baseline', 'first']);
    expect('config' in b && b.config).toMatchObject({ env: { layout: 'paper', episodeLength: 200, cues: 'onehot' }, a2c: { gradClip: 7, baseline: 'first' } });
    expect('iterations' in b && b.iterations).toBe(200_000);
  });

  test('train writes a log line per iteration and a checkpoint; evaluate reports the mean reward', async () => {
    const out = await mkdtemp(join(tmpdir(), 'bp-cli-'));
    const r = await cli(['train', 'cue-reward', ...TINY, '--iterations', '5', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/done: 5 iterations, mean reward over the last 5: -?\d/);
    expect(r.stderr).toMatch(/cue-reward\/retroactive 5\/5 [\d.]+ it\/s reward -?\d+\.\d{3} eta 0s/);
    expect(logLines(out)).toHaveLength(5);
    const e = await cli(['evaluate', out, '--episodes', '7', '--backend', 'cpu', '--json']);
    expect(e.code, e.stderr).toBe(0);
    const result = JSON.parse(e.stdout);
    expect(result).toMatchObject({ task: 'cue-reward', plasticity: 'retroactive', iteration: 5, episodes: 7 });
    expect(Number.isFinite(result.mean)).toBe(true);
    const m = await cli(['train', 'maze', ...TINY, '--plasticity', 'modplast', '--iterations', '2', '--out', join(out, 'maze')]);
    expect(m.code, m.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'maze', 'config.json'), 'utf8'))).toMatchObject({ task: 'maze', net: { plasticity: 'neuromodulated' } });
  });

  test('Ctrl-C (SIGINT) saves a checkpoint and exits with 130; --resume continues from it', async () => {
    const out = await mkdtemp(join(tmpdir(), 'bp-cli-'));
    const args = ['train', 'cue-reward', ...TINY, '--out', out];
    const r = await cli([...args, '--iterations', '1000000'], (child) => {
      const poll = setInterval(() => {
        if (logLines(out).length >= 3) {
          clearInterval(poll);
          child.kill('SIGINT');
        }
      }, 20);
    });
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toContain('SIGINT: stopping; saving a checkpoint');
    const done = Number(/interrupted after iteration (\d+)/.exec(r.stdout)![1]);
    expect(logLines(out)).toHaveLength(done);
    const resumed = await cli([...args, '--iterations', String(done + 2), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(logLines(out).map((l) => JSON.parse(l).iteration)).toEqual([...Array(done + 2).keys()]);
  });

  test('progress: a bar redrawn in place on a terminal, plain lines elsewhere; rate and reward over the last 100 iterations', () => {
    const written: string[] = [];
    const tty = new Progress('t', 300, { isTTY: true, columns: 80, write: (x) => written.push(x) });
    for (let i = 1; i <= 300; i++) tty.update(i, i);
    tty.finish();
    expect(written[0]).toMatch(/^\rt \[\.{16}\] 1\/300 0\.00 it\/s reward 1\.000 eta --\x1b\[K$/);
    expect(written.at(-2)).toMatch(/^\rt \[#{16}\] 300\/300 [\d.]+ it\/s reward 250\.500 eta 0s\x1b\[K$/);
    expect(written.at(-1)).toBe('\n');
    expect(tty.window).toBe(100);
    const lines: string[] = [];
    const pipe = new Progress('p', 50, { write: (x) => lines.push(x) }, 3600);
    for (let i = 1; i <= 20; i++) pipe.update(i, 0);
    pipe.finish();
    // The first iteration, then nothing for an hour, then the last state.
    expect(lines.map((l) => l.split(' ')[1])).toEqual(['1/50', '20/50']);
    expect([formatDuration(9.4), formatDuration(125), formatDuration(3725)]).toEqual(['9s', '2m05s', '1h02m']);
  });
});
