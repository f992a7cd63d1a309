/**
 * Fig. 2 of the paper: training curves on the grid-maze exploration task (PAPER.md §2.2, §3.3).
 *   npm run bench:fig2 [-- --scale quick|paper] [--jobs N] [--seeds N] [--iterations N] [--out DIR] [--plot-only]
 * `paper`: the authors' runs (`batch.py`: 13×13 maze, 200 steps, lr 1e-4, 200,002 iterations, the
 * parameter-matched controls), for a GPU; their figure shows the first 100k iterations of 9 runs.
 * `quick`: a smaller maze, shorter episodes and smaller networks that run within 20 minutes on two
 * CPU cores (its note says how).
 */
import { runFigure, type Condition, type Figure } from './rl_figure.js';

/** The figure script's conditions and legend labels, with the neuron counts of a scale. */
function conditions(n: { modulated: number; hebbian: number; none: number; noneSmall?: number }): Condition[] {
  const list: Condition[] = [
    { key: 'simple', label: `Simple modulation (${n.modulated} neurons)`, plasticity: 'neuromodulated', color: '#d62728', hiddenSize: n.modulated },
    { key: 'retroactive', label: `Retroactive modulation (${n.modulated} neurons)`, plasticity: 'retroactive', color: '#1f77b4', hiddenSize: n.modulated },
    { key: 'none', label: `Non-plastic (${n.none} neurons)`, plasticity: 'none', color: '#ff7f0e', hiddenSize: n.none },
    { key: 'hebbian', label: `Non-modulated plasticity (${n.hebbian} neurons)`, plasticity: 'hebbian', color: '#2ca02c', hiddenSize: n.hebbian },
  ];
  if (n.noneSmall) {
    list.splice(3, 0, { key: 'none-small', label: `Non-plastic (${n.noneSmall} neurons)`, plasticity: 'none', color: '#9467bd', hiddenSize: n.noneSmall });
  }
  return list;
}

const FIG2: Figure = {
  name: 'fig2',
  task: 'maze',
  title: 'Grid maze (Fig. 2)',
  compare: ['simple', 'hebbian'],
  scales: {
    paper: {
      iterations: 100_000,
      seeds: 9,
      args: ['--backend', 'auto', '--checkpoint-every', '1000'],
      // Parameter-matched: about 22.5k parameters each (PAPER.md §2.2), plus the unmatched 100-neuron RNN.
      conditions: conditions({ modulated: 100, hebbian: 101, none: 139, noneSmall: 100 }),
      smooth: 200,
      note: 'The authors\' settings (PAPER.md §2.2, `batch.py`): 13×13 maze, 200-step episodes, lr 1e-4, Adam eps 1e-4, gradient clip 4, 100-iteration burn-in; the figure\'s first 100k iterations.',
    },
    quick: {
      iterations: 1600,
      seeds: 3,
      args: ['--backend', 'cpu', '--checkpoint-every', '1000', '--maze-size', '9', '--episode-length', '50', '--lr', '2e-3', '--burn-in', '0', '--batch-size', '10'],
      // About 1.7k parameters each, matched as in the paper (modulated 1,734; plastic 1,710; non-plastic 1,765).
      conditions: conditions({ modulated: 24, hebbian: 24, none: 32 }),
      smooth: 50,
      note: [
        'Quick scale: the task and the training reduced until a run takes about two minutes on one CPU core',
        '(the CPU backend beats lavapipe at these sizes). A 9×9 grid, border included (7×7 inside, 8 pillars, 41 free',
        'cells) instead of 13×13; 50-step episodes instead of 200; 24 neurons instead of 100, with the controls',
        'parameter-matched as in the paper (non-plastic 32 neurons); 10 episodes per iteration instead of 30; Adam',
        'lr 2e-3 instead of 1e-4 and no burn-in.',
      ].join(' '),
    },
  },
};

await runFigure(FIG2, process.argv.slice(2));
