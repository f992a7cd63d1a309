/**
 * Looks inside a trained agent (a run directory written by `backpropamine train` or the figure benches):
 *   cue-reward: the modulator output M(t) and the perceived reward over whole episodes, with the
 *               cues shown, as the paper's appendix Fig. 3 (`sr/plotmodulator.py`);
 *   maze:       the agent's path through one episode, with the walls and the reward cell, next to
 *               the same episode run by the untrained network (the authors' README shows the
 *               agent after 0 and after 200,000 iterations).
 *
 *   node scripts/run.mjs bench/inspect.ts <run dir> [--episodes 3] [--seed 0] [--backend cpu] [--out bench/results/NAME]
 *
 * Actions are sampled from the policy, as in training and evaluation.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TopLevelSpec } from 'vega-lite';
import { destroyDevice, initDevice, noGrad, Rng, softmax, tensor, tidy, type PlasticRNN, type PlasticRNNState, type Tensor } from '../src/index.js';
import { GO, type CueRewardEnv } from '../src/tasks/cue_reward.js';
import type { Env } from '../src/tasks/env.js';
import type { MazeEnv } from '../src/tasks/maze.js';
import { buildEnv, buildNet, type TrainConfig } from '../src/tasks/presets.js';
import { loadRunCheckpoint } from '../src/tasks/run_checkpoint.js';
import { CHECKPOINT_FILE } from '../src/tasks/train.js';
import { FONT, render } from './plot.js';

const USAGE = 'usage: node scripts/run.mjs bench/inspect.ts <run dir> [--episodes 3] [--seed 0] [--backend cpu] [--out bench/results/NAME]';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    episodes: { type: 'string', default: '3' },
    seed: { type: 'string', default: '0' },
    backend: { type: 'string', default: 'cpu' },
    out: { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error(USAGE);
  process.exit(2);
}
const runDir = positionals[0];
await initDevice({ backend: values.backend as 'auto' | 'webgpu' | 'cpu' });
const saved = await loadRunCheckpoint(join(runDir, CHECKPOINT_FILE));
const { config } = saved;
const seed = Number(values.seed);
const caption = [`${config.net.plasticity} network, ${config.net.hiddenSize} neurons`, `after ${saved.iteration} training iterations`, runDir];
let files: string[];
if (config.task === 'cue-reward') {
  if (config.net.plasticity !== 'neuromodulated' && config.net.plasticity !== 'retroactive') {
    throw new Error(`${runDir}: a ${config.net.plasticity} network has no modulator to plot`);
  }
  files = await inspectCueReward(config, Number(values.episodes), values.out ?? 'bench/results/fig3-modulator');
} else {
  files = await inspectMaze(config, values.out ?? 'bench/results/fig2-maze-episode');
}
console.log(`wrote ${files.join(', ')}`);
destroyDevice();

/** The network with the checkpoint's parameters, or with its initial ones (iteration 0). */
function network(cfg: TrainConfig, env: Env, trained: boolean): PlasticRNN {
  // train() draws the initial parameters from Rng(seed) after building the environment, which draws nothing.
  const net = buildNet(cfg, env, new Rng(cfg.seed));
  if (trained) net.loadStateDict(saved.model);
  return net;
}

/** What one step did, per episode of the batch. */
interface StepRecord {
  /** M(t) (null for networks without a modulator). */
  modulator: ArrayLike<number> | null;
  rewards: Float64Array;
}

/** Runs one batch of episodes without gradients, calling `onStep` after each environment step. */
async function runEpisodes(net: PlasticRNN, env: Env, rng: Rng, onStep: (t: number, r: StepRecord) => void): Promise<void> {
  const B = env.batchSize;
  const params = new Set<Tensor>(net.parameters());
  const tensorsOf = (s: PlasticRNNState) => [s.h, s.hebb, s.elig, s.pending?.pre, s.pending?.post, s.pending?.mod].filter((x): x is Tensor => x != null);
  let state = net.initialState(B);
  let obs: Float64Array | null = env.reset();
  for (let t = 0; obs; t++) {
    let next!: PlasticRNNState;
    let probs!: Tensor;
    // (Asserted, not annotated: TypeScript does not see the assignment inside the closure.)
    let modulator = null as Tensor | null;
    noGrad(() =>
      tidy(() => {
        const out = net.step(tensor(obs!, [B, env.inputSize]), state);
        [next, probs, modulator] = [out.state, softmax(out.logits), out.modulator];
        return [...tensorsOf(next), probs, modulator];
      }),
    );
    // The new state shares some tensors with the old one (h becomes the pending update's `pre`).
    const kept = new Set([...tensorsOf(next), ...params]);
    for (const x of tensorsOf(state)) if (!kept.has(x)) x.dispose();
    state = next;
    const p = await probs.data();
    const m = modulator ? await modulator.data() : null;
    probs.dispose();
    // M(t) is also the pending trace update's factor, part of the state.
    if (modulator && !kept.has(modulator)) modulator.dispose();
    const res = env.step(new Int32Array(B).map((_, b) => rng.categorical(p.subarray(b * env.numActions, (b + 1) * env.numActions))));
    onStep(t, { modulator: m, rewards: res.reward });
    obs = res.obs;
  }
  for (const x of tensorsOf(state)) if (!params.has(x)) x.dispose();
}

/** Appendix Fig. 3: per episode, M(t) and the reward the agent perceives (the previous step's), over the cues shown. */
async function inspectCueReward(cfg: TrainConfig, episodes: number, out: string): Promise<string[]> {
  const rng = new Rng(seed);
  const env = buildEnv(cfg, episodes, rng) as CueRewardEnv;
  const net = network(cfg, env, true);
  const lines: { episode: string; t: number; series: string; value: number }[] = [];
  const events: { episode: string; t: number; what: string }[] = [];
  const totals = new Float64Array(episodes);
  await runEpisodes(net, env, rng, (t, { modulator, rewards }) => {
    for (let b = 0; b < episodes; b++) {
      const episode = `Episode ${b + 1}`;
      lines.push({ episode, t, series: 'Modulator M(t)', value: modulator![b] });
      // The reward input of step t + 1 is this step's reward: plot it where the agent perceives it.
      lines.push({ episode, t: t + 1, series: 'Perceived reward', value: rewards[b] });
      const shown = env.schedule[b][t];
      if (shown === GO) events.push({ episode, t, what: 'Response step' });
      else if (shown === env.targets[b]) events.push({ episode, t, what: 'Target cue' });
      else if (shown >= 0) events.push({ episode, t, what: 'Other cue' });
      totals[b] += rewards[b];
    }
  });
  net.dispose();
  console.log(`episode rewards: ${[...totals].join(', ')}`);
  const x = { field: 't', type: 'quantitative' as const, title: 'Time step', scale: { domain: [0, env.episodeLength] } };
  const series = ['Modulator M(t)', 'Perceived reward', 'Target cue', 'Other cue', 'Response step'];
  const color = { field: 'series', type: 'nominal' as const, title: null, scale: { domain: series, range: ['#1f77b4', '#d62728', '#2ca02c', '#aaaaaa', '#000000'] } };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: FONT,
    title: { text: 'Modulator output and perceived reward (appendix Fig. 3)', subtitle: caption, anchor: 'start' },
    data: { values: [...lines, ...events.map((e) => ({ ...e, series: e.what, value: -1.25 }))] },
    facet: { row: { field: 'episode', type: 'nominal', title: null } },
    spec: {
      width: 720,
      height: 130,
      layer: [
        {
          transform: [{ filter: "datum.series == 'Modulator M(t)' || datum.series == 'Perceived reward'" }],
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
          encoding: { x, y: { field: 'value', type: 'quantitative', title: null, scale: { domain: [-1.4, 1.1] } }, color },
        },
        {
          transform: [{ filter: "datum.series != 'Modulator M(t)' && datum.series != 'Perceived reward'" }],
          mark: { type: 'tick', thickness: 2, size: 10 },
          encoding: { x, y: { field: 'value', type: 'quantitative' }, color },
        },
      ],
    },
    resolve: { scale: { x: 'shared' } },
  } as TopLevelSpec;
  return render(spec, out);
}

/** One maze episode, untrained and trained, drawn on the grid. */
async function inspectMaze(cfg: TrainConfig, out: string): Promise<string[]> {
  if (cfg.task !== 'maze') throw new Error('inspectMaze: not a maze run');
  const panels: object[] = [];
  for (const trained of [false, true]) {
    // The same seed for both panels: the same reward cell, the same random stream.
    const rng = new Rng(seed);
    const env = buildEnv(cfg, 1, rng) as MazeEnv;
    const net = network(cfg, env, trained);
    const size = env.config.size;
    const cell = (i: number) => ({ row: Math.floor(i / size), col: i % size });
    const moves: { t: number; from: { row: number; col: number }; to: { row: number; col: number } }[] = [];
    const teleports: { row: number; col: number }[] = [];
    let hits = 0;
    let at = env.centre;
    await runEpisodes(net, env, rng, (t, { rewards }) => {
      const now = env.position[0];
      // A hit moved the agent onto the reward cell, then teleported it.
      const reached = rewards[0] >= cfg.env.reward ? env.rewardCell[0] : now;
      if (reached !== at) moves.push({ t, from: cell(at), to: cell(reached) });
      if (reached !== now) {
        hits++;
        teleports.push(cell(now));
      }
      at = now;
    });
    net.dispose();
    const rewards = `${hits} reward${hits === 1 ? '' : 's'}`;
    const title = trained ? `After ${saved.iteration} iterations: ${rewards}` : `Untrained (iteration 0): ${rewards}`;
    panels.push(mazePanel(env, moves, teleports, title));
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: FONT,
    title: {
      text: `One maze episode (${cfg.env.episodeLength} steps), seed ${seed}`,
      subtitle: [...caption, 'gold: the reward cell; blue: the start; grey circles: where a hit teleported the agent'],
      anchor: 'start',
    },
    hconcat: panels,
  } as TopLevelSpec;
  return render(spec, out);
}

/** Walls as dark squares, the reward cell as a gold star, the path coloured by time, teleport landings as circles. */
function mazePanel(
  env: MazeEnv,
  moves: { t: number; from: { row: number; col: number }; to: { row: number; col: number } }[],
  teleports: { row: number; col: number }[],
  title: string,
): object {
  const size = env.config.size;
  const px = 28 * size;
  const axis = { field: 'col', type: 'quantitative', axis: null, scale: { domain: [0, size] } } as const;
  const yAxis = { field: 'row', type: 'quantitative', axis: null, scale: { domain: [size, 0] } } as const;
  const walls = [...env.walls].flatMap((w, i) => (w ? [{ col: i % size, row: Math.floor(i / size), col2: (i % size) + 1, row2: Math.floor(i / size) + 1 }] : []));
  const centre = (p: { row: number; col: number }) => ({ col: p.col + 0.5, row: p.row + 0.5 });
  const reward = centre({ row: Math.floor(env.rewardCell[0] / size), col: env.rewardCell[0] % size });
  const start = centre({ row: Math.floor(env.centre / size), col: env.centre % size });
  return {
    title,
    width: px,
    height: px,
    layer: [
      { data: { values: walls }, mark: { type: 'rect', color: '#444' }, encoding: { x: axis, x2: { field: 'col2' }, y: yAxis, y2: { field: 'row2' } } },
      {
        data: { values: moves.map((m) => ({ t: m.t, ...centre(m.from), col2: m.to.col + 0.5, row2: m.to.row + 0.5 })) },
        mark: { type: 'rule', strokeWidth: 2.5, opacity: 0.75, strokeCap: 'round' },
        encoding: {
          x: axis, x2: { field: 'col2' }, y: yAxis, y2: { field: 'row2' },
          color: { field: 't', type: 'quantitative', title: 'Step', scale: { scheme: 'viridis', domain: [0, env.episodeLength] } },
        },
      },
      { data: { values: teleports.map(centre) }, mark: { type: 'point', color: '#888', size: 50 }, encoding: { x: axis, y: yAxis } },
      { data: { values: [start] }, mark: { type: 'square', color: '#1f77b4', size: 120 }, encoding: { x: axis, y: yAxis } },
      { data: { values: [reward] }, mark: { type: 'point', shape: 'diamond', filled: true, color: 'gold', stroke: 'black', size: 260 }, encoding: { x: axis, y: yAxis } },
    ],
  };
}
