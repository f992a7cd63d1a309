/**
 * The main job's demo: a neuromodulated plastic RNN (PAPER.md §1.2) meta-learns the cue-reward
 * association task (§2.1) by A2C, in a reduced configuration that runs in one to two minutes on two
 * CPU cores. Within each episode the network must find out, from rewards alone, which cue is the
 * Target and then answer for it; chance is 0. It ends with a plot of the reward curve.
 *   npm run demo [-- --iterations 900 --seed 0 --backend cpu]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { curvesSpec, render } from '../bench/plot.js';
import { movingAverage } from '../bench/stats.js';
import { Progress } from '../src/cli/progress.js';
import { destroyDevice, initDevice, Rng } from '../src/index.js';
import { CUE_REWARD_DEFAULTS, CueRewardEnv, GO, type CueRewardConfig } from '../src/tasks/cue_reward.js';
import { defaultConfig, type TrainConfig } from '../src/tasks/presets.js';
import { train } from '../src/tasks/train.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '900' },
    seed: { type: 'string', default: '0' },
    // Tiny matrices: the CPU backend beats a software WebGPU device here (bench:fig1 notes).
    backend: { type: 'string', default: 'cpu' },
  },
});
const iterations = Number(values.iterations);
const base = defaultConfig('cue-reward', 'neuromodulated', 'code', Number(values.seed));
// The quick scale of bench/fig1.bench.ts (its note says why): 2 random 8-bit cues, 40-step
// episodes, 24 neurons, 10 episodes per iteration, lr 3e-3, gradient clip 0.5, no burn-in.
const env: CueRewardConfig = { ...CUE_REWARD_DEFAULTS, numCues: 2, cueSize: 8, episodeLength: 40 };
const config: TrainConfig = {
  ...base,
  task: 'cue-reward',
  env,
  batchSize: 10,
  net: { ...base.net, hiddenSize: 24 },
  adam: { ...base.adam, lr: 3e-3 },
  a2c: { ...base.a2c, gradClip: 0.5, burnIn: 0 },
};

const backend = await initDevice({ backend: values.backend as 'auto' | 'webgpu' | 'cpu' });
console.log(
  `backpropamine demo: a neuromodulated plastic RNN (${config.net.hiddenSize} neurons, ${backend.name} backend) meta-learns cue-reward association:\n` +
    `each ${env.episodeLength}-step episode has ${env.numCues} new random ${env.cueSize}-bit cues, one of them the Target; the agent earns +1 for\n` +
    'answering "Target shown?" right and -1 otherwise, and can only find the Target through the rewards. Chance is 0.',
);
// The run directory is kept (log, checkpoint): `node scripts/run.mjs bench/inspect.ts runs/demo` plots its modulator.
const out = 'runs/demo';
rmSync(out, { recursive: true, force: true });
const rewards: number[] = [];
const started = performance.now();
const progress = new Progress('training', iterations, process.stdout, 5);
try {
  await train(config, {
    out,
    iterations,
    checkpointEvery: iterations,
    onIteration: (stats) => {
      rewards.push(stats.reward);
      progress.update(stats.iteration + 1, stats.reward);
    },
  });
  progress.finish();
} finally {
  destroyDevice();
}

const window = Math.min(100, Math.ceil(iterations / 4));
// Plotted from the first full averaging window on.
const smooth = movingAverage(rewards, window).slice(window - 1);
const [plot] = await render(
  curvesSpec(
    smooth.map((r, i) => ({ condition: 'Simple modulation', episodes: (i + window) * config.batchSize, median: r, q25: r, q75: r })),
    {
      title: 'backpropamine demo: cue-reward association',
      subtitle: [`neuromodulated plastic RNN, ${config.net.hiddenSize} neurons`, `mean episode reward, ${window}-iteration moving average`],
      conditions: ['Simple modulation'],
      colors: ['#d62728'],
    },
  ),
  `${out}/reward`,
);
const minutes = ((performance.now() - started) / 60_000).toFixed(1);
console.log(
  `reward per episode ${smooth[0].toFixed(2)} -> ${smooth[smooth.length - 1].toFixed(2)} (mean of the first and last ${window} iterations; ` +
    `chance 0, about +${knownTargetReward().toFixed(1)} if the Target were known) in ${minutes} min; plot ${plot}`,
);

/** Mean number of Response steps per episode: the reward of an agent told the Target in advance. */
function knownTargetReward(): number {
  const probe = new CueRewardEnv({ ...env, batchSize: 1000, rng: new Rng(1) });
  probe.reset();
  return probe.schedule.reduce((n, steps) => n + steps.filter((x) => x === GO).length, 0) / probe.batchSize;
}
