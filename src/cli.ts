/**
 * The `backpropamine` command line (bin/backpropamine.mjs runs it):
 *   backpropamine train <cue-reward|maze> [options]   meta-train, with progress, log, checkpoints, --resume
 *   backpropamine train ptb [options]                 a (plastic) LSTM language model on Penn Treebank
 *   backpropamine evaluate <run> [options]            mean reward of a saved agent
 * Progress goes to stderr, results to stdout. Exit codes: 0 done, 1 error, 2 usage error,
 * 130 interrupted (the checkpoint is saved).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { destroyDevice, initDevice } from './index.js';
import { evaluateHelp, mainHelp, parseEvaluateArgs, parseTrainArgs, trainHelp, UsageError, type DeviceOptions } from './cli/options.js';
import { INTERRUPTED, withInterrupt } from './cli/interrupt.js';
import { Progress } from './cli/progress.js';
import { evaluate } from './tasks/evaluate.js';
import { trainPtbCommand } from './tasks/lm_cli.js';
import { CHECKPOINT_FILE, LOG_FILE, train } from './tasks/train.js';

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'train') return await trainCommand(rest);
    if (command === 'evaluate') return await evaluateCommand(rest);
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      console.log(mainHelp());
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command '${command}'`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`backpropamine: ${e.message}\nRun 'backpropamine ${command === 'train' || command === 'evaluate' ? command + ' ' : ''}--help' for usage.`);
      return 2;
    }
    const err = e as Error;
    if (err.name === 'AbortError') {
      console.error('backpropamine: interrupted');
      return INTERRUPTED;
    }
    console.error(`backpropamine: ${err.message}`);
    if (process.env.BACKPROPAMINE_DEBUG) console.error(err.stack);
    return 1;
  }
}

async function withDevice<T>(opts: DeviceOptions, fn: (deviceName: string) => Promise<T>): Promise<T> {
  const backend = await initDevice({ backend: opts.backend, precision: opts.precision });
  try {
    return await fn(backend.name);
  } finally {
    destroyDevice();
  }
}

async function trainCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'ptb') return trainPtbCommand(argv.slice(1));
  const args = parseTrainArgs(argv);
  if ('help' in args) {
    console.log(trainHelp(args.task));
    return 0;
  }
  const { config, iterations, out } = args;
  const label = `${config.task}/${config.net.plasticity}`;
  return withDevice(args, (device) =>
    withInterrupt('stopping; saving a checkpoint', async (signal) => {
      console.error(`${label}: ${config.net.hiddenSize} neurons, batch ${config.batchSize}, ${config.env.episodeLength} steps, seed ${config.seed}, ${device} backend -> ${out}`);
      const progress = new Progress(label, iterations, process.stderr);
      const result = await train(config, {
        out,
        iterations,
        resume: args.resume,
        checkpointEvery: args.checkpointEvery,
        signal,
        onIteration: (stats) => progress.update(stats.iteration + 1, stats.reward),
      });
      progress.finish();
      if (result.interrupted) {
        console.log(`interrupted after iteration ${result.iterations}; checkpoint saved to ${result.checkpoint}`);
        console.log('continue with the same command and --resume');
        return INTERRUPTED;
      }
      console.log(`done: ${result.iterations} iterations, mean reward over the last ${progress.window}: ${progress.runningReward.toFixed(3)}`);
      console.log(`log ${join(out, LOG_FILE)}, checkpoint ${result.checkpoint}`);
      return 0;
    }),
  );
}

async function evaluateCommand(argv: string[]): Promise<number> {
  const args = parseEvaluateArgs(argv);
  if ('help' in args) {
    console.log(evaluateHelp());
    return 0;
  }
  const path = existsSync(args.path) && statSync(args.path).isDirectory() ? join(args.path, CHECKPOINT_FILE) : args.path;
  return withDevice(args, () =>
    withInterrupt('stopping', async (signal) => {
      const r = await evaluate(path, { episodes: args.episodes, seed: args.seed, batchSize: args.batchSize, signal });
      const { task, net } = r.config;
      if (args.json) {
        console.log(JSON.stringify({ checkpoint: path, task, plasticity: net.plasticity, iteration: r.iteration, episodes: r.rewards.length, mean: r.mean, std: r.std, sem: r.sem }));
      } else {
        console.log(`${task}/${net.plasticity} after ${r.iteration} iterations: mean reward ${r.mean.toFixed(3)} ± ${r.sem.toFixed(3)} (s.e.m.) over ${r.rewards.length} episodes, std ${r.std.toFixed(3)}`);
      }
      return 0;
    }),
  );
}
