/**
 * Fig. 1 of the paper: training curves on the cue-reward association task (PAPER.md §2.1, §3.2).
 *   npm run bench:fig1 [-- --scale quick|paper] [--jobs N] [--seeds N] [--iterations N] [--out DIR] [--plot-only]
 * `paper`: the authors' runs (`srbatch.py`: 200 neurons, 120 steps, lr 1e-4, 200,000 iterations,
 * 10 seeds), for a GPU. `quick`: a reduced task and network that runs within 20 minutes on two CPU
 * cores (its note says how and why it differs).
 */
import { runFigure, type Condition, type Figure } from './rl_figure.js';

// Colours of the paper's caption: modulated red and blue, non-modulated green, non-plastic orange.
const CONDITIONS: Condition[] = [
  { key: 'simple', label: 'Simple modulation', plasticity: 'neuromodulated', color: '#d62728' },
  { key: 'retroactive', label: 'Retroactive modulation', plasticity: 'retroactive', color: '#1f77b4' },
  { key: 'hebbian', label: 'Non-modulated plastic', plasticity: 'hebbian', color: '#2ca02c' },
  { key: 'none', label: 'Non-plastic', plasticity: 'none', color: '#ff7f0e' },
];

const FIG1: Figure = {
  name: 'fig1',
  task: 'cue-reward',
  title: 'Cue-reward association (Fig. 1)',
  compare: ['simple', 'hebbian'],
  scales: {
    paper: {
      iterations: 200_000,
      seeds: 10,
      args: ['--backend', 'auto', '--checkpoint-every', '2000'],
      conditions: CONDITIONS,
      // The figure script's 20 points of 10 logged iterations each.
      smooth: 200,
      note: 'The authors\' settings (PAPER.md §2.1, `srbatch.py`): 200 neurons, 120-step episodes, 4 random 20-bit cues, lr 1e-4, 100-iteration burn-in.',
    },
    quick: {
      iterations: 2000,
      seeds: 4,
      args: [
        '--backend', 'cpu', '--checkpoint-every', '2000', '--batch-size', '10',
        '--episode-length', '40', '--num-cues', '2', '--cue-size', '8',
        '--lr', '3e-3', '--grad-clip', '0.5', '--burn-in', '0',
      ],
      // η_et's initial 0.1 (`sr/modul.py`) makes the eligibility trace average over about 10 steps,
      // two trials of this shorter task: no retroactive run learnt in 3,000 iterations; with 0.5, one did by 1,300.
      conditions: CONDITIONS.map((c) => ({ ...c, hiddenSize: 24, ...(c.key === 'retroactive' ? { args: ['--eta-init', '0.5'] } : {}) })),
      smooth: 50,
      note: [
        'Quick scale: the task and the training reduced until a run takes about two minutes on one CPU core',
        '(the CPU backend beats lavapipe at these sizes). Per episode, 2 random ±1 cues of 8 bits instead of 4 of 20,',
        '40 steps instead of 120 (about 9 trials: chance 0, +8.7 if the Target were known); 24 neurons instead of 200;',
        '10 episodes per iteration instead of 30 (more updates per second); Adam lr 3e-3 instead of 1e-4 and no',
        'burn-in. The gradient clip is 0.5 instead of 2: at this learning rate, single gradient spikes (norm 100+)',
        'after the task is learnt knocked the network into saturation (M(t) stuck at −1) and back to chance; a clip',
        'near the typical norm keeps one step of Adam from following a spike. Retroactive modulation starts its',
        'eligibility-trace rate η_et at 0.5 instead of 0.1 (a trace time constant of 2 steps instead of 10, for',
        'trials of about 4.5 steps): at 0.1 it did not learn within 3,000 iterations (one seed tried).',
      ].join(' '),
    },
  },
};

await runFigure(FIG1, process.argv.slice(2));
