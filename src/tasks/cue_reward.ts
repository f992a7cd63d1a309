/**
 * Task 1, cue-reward association (PAPER.md §2.1; the authors' `sr/srbatch.py` is the default).
 *
 * Each episode has `numCues` cues and one of them is the Target. Trials run back to back:
 *   [blank] + shuffle(numCues/2 distinct cues + randint(numCues) blanks) + [Go] + [blank]
 * (so 5-8 steps for 4 cues, about 18.5 trials in 120 steps). On the Go step the agent answers 1
 * ("the Target was shown in this trial") or 0; a right answer earns +reward, a wrong one −reward,
 * and the agent perceives it through the reward input of the next step. Answering 1 off the Go
 * step costs `penalty` (the code's `wp`, 0 in the paper runs). The episode stops after
 * `episodeLength` steps whatever the trial state.
 *
 * Options reproduce the other settings of PAPER.md: the paper text's 200 steps and 24 inputs
 * (`layout: 'paper'`, `episodeLength: 200`) and the appendix's fixed one-hot cues (`cues: 'onehot'`,
 * Fig. 4, PAPER.md §3.4).
 */
import type { Rng } from '../autograd/index.js';
import { checkActions, type Env, type EnvStep } from './env.js';

/**
 * Input layouts (c = cue size, 20 by default):
 * - 'code' (c + 7 = 27 floats, `srbatch.py`): [0:c] cue bits (0 when no cue), [c] Go bit, [c+1] bias 1,
 *   [c+2] t/episodeLength, [c+3] previous reward, [c+4] unused, [c+5:c+7] one-hot previous action
 *   (all zero at t = 0).
 * - 'paper' (c + 4 = 24 floats, paper §4.1): [0:c] cue bits, [c] t/episodeLength, [c+1:c+3] one-hot
 *   previous action, [c+3] previous reward. The paper has no Go bit; we show its Response cue in the
 *   cue bits as the all-ones vector, which no cue equals (our choice: the text does not say how the
 *   Response cue is encoded).
 */
export type CueLayout = 'code' | 'paper';

/** 'random': ±1 vectors of `cueSize` bits drawn each episode (the code); 'onehot': the appendix's fixed '1000', '0100', ... */
export type CueKind = 'random' | 'onehot';

/** The task's settings (everything but the batch and the random stream). */
export interface CueRewardConfig {
  layout: CueLayout;
  /** 120 in the code, 200 in the paper text. */
  episodeLength: number;
  cues: CueKind;
  /** Cues per episode (the code's `ni`). */
  numCues: number;
  /** Bits per random cue (the code's `cs`); one-hot cues have `numCues` bits. */
  cueSize: number;
  /** Reward magnitude for the Go-step answer (the code's `rew`). */
  reward: number;
  /** Cost of answering 1 off the Go step (the code's `wp`). */
  penalty: number;
}

export const CUE_REWARD_DEFAULTS: CueRewardConfig = {
  layout: 'code',
  episodeLength: 120,
  cues: 'random',
  numCues: 4,
  cueSize: 20,
  reward: 1,
  penalty: 0,
};

export interface CueRewardOptions extends Partial<CueRewardConfig> {
  batchSize: number;
  rng: Rng;
}

/** Schedule entries: a cue index (>= 0), a blank step, or the Go (Response) step. */
export const BLANK = -1;
export const GO = -2;

export class CueRewardEnv implements Env {
  readonly batchSize: number;
  readonly inputSize: number;
  readonly numActions = 2;
  readonly episodeLength: number;
  readonly config: CueRewardConfig;
  /** Bits per cue as the network sees them. */
  readonly cueBits: number;
  /** Per episode: the Target's index. */
  readonly targets: Int32Array;
  /** Per episode: the cues' bits, numCues × cueBits row-major. */
  readonly cueVectors: Float64Array[];
  /** Per episode: what each step shows (a cue index, BLANK or GO). */
  readonly schedule: Int8Array[];
  /** Per episode and step: the right answer on Go steps (1 = the Target was shown), else 0. */
  readonly answers: Uint8Array[];
  readonly #rng: Rng;
  #t = 0;
  #prevReward: Float64Array;
  #prevAction: Int32Array;

  constructor(opts: CueRewardOptions) {
    const { batchSize, rng, ...rest } = opts;
    this.config = { ...CUE_REWARD_DEFAULTS, ...rest };
    const { episodeLength, numCues, cueSize, cues, layout } = this.config;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`CueRewardEnv: batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(episodeLength) || episodeLength < 1) throw new RangeError(`CueRewardEnv: episodeLength must be a positive integer, got ${episodeLength}`);
    if (!Number.isInteger(numCues) || numCues < 2 || numCues > 127) throw new RangeError(`CueRewardEnv: numCues must be an integer in [2, 127], got ${numCues}`);
    this.cueBits = cues === 'onehot' ? numCues : cueSize;
    // Random cues must be distinct (and differ from the paper layout's all-ones Response cue).
    if (cues === 'random' && !(Number.isInteger(cueSize) && cueSize >= 1 && 2 ** cueSize >= numCues + 1)) {
      throw new RangeError(`CueRewardEnv: cueSize ${cueSize} cannot give ${numCues} distinct cues`);
    }
    this.batchSize = batchSize;
    this.episodeLength = episodeLength;
    this.inputSize = this.cueBits + (layout === 'code' ? 7 : 4);
    this.#rng = rng;
    this.targets = new Int32Array(batchSize);
    this.cueVectors = [];
    this.schedule = [];
    this.answers = [];
    this.#prevReward = new Float64Array(batchSize);
    this.#prevAction = new Int32Array(batchSize).fill(-1);
  }

  reset(): Float64Array {
    const { numCues } = this.config;
    for (let b = 0; b < this.batchSize; b++) {
      this.cueVectors[b] = this.#drawCues();
      this.targets[b] = this.#rng.int(numCues);
      [this.schedule[b], this.answers[b]] = this.#drawSchedule(this.targets[b]);
    }
    this.#t = 0;
    this.#prevReward.fill(0);
    this.#prevAction.fill(-1);
    return this.#observe();
  }

  step(actions: ArrayLike<number>): EnvStep {
    if (this.#t >= this.episodeLength) throw new RangeError(`CueRewardEnv.step: the episode ended after ${this.episodeLength} steps; call reset()`);
    checkActions(this, actions);
    const { reward, penalty } = this.config;
    const t = this.#t;
    const r = new Float64Array(this.batchSize);
    for (let b = 0; b < this.batchSize; b++) {
      const a = actions[b];
      if (this.schedule[b][t] === GO) r[b] = a === this.answers[b][t] ? reward : -reward;
      else if (a === 1) r[b] = -penalty;
      this.#prevAction[b] = a;
    }
    this.#prevReward.set(r);
    this.#t++;
    return { reward: r, obs: this.#t < this.episodeLength ? this.#observe() : null };
  }

  /** `numCues` distinct cue vectors for one episode. */
  #drawCues(): Float64Array {
    const { numCues, cueSize, cues } = this.config;
    const v = new Float64Array(numCues * this.cueBits);
    if (cues === 'onehot') {
      for (let k = 0; k < numCues; k++) v[k * numCues + k] = 1;
      return v;
    }
    const seen = new Set<string>(['1'.repeat(cueSize)]);
    for (let k = 0; k < numCues; k++) {
      let bits: string;
      do {
        bits = '';
        for (let i = 0; i < cueSize; i++) bits += this.#rng.int(2);
      } while (seen.has(bits));
      seen.add(bits);
      for (let i = 0; i < cueSize; i++) v[k * cueSize + i] = bits[i] === '1' ? 1 : -1;
    }
    return v;
  }

  /** Trials back to back until the episode is full (PAPER.md §2.1 "Trials"). */
  #drawSchedule(target: number): [Int8Array, Uint8Array] {
    const { numCues } = this.config;
    const T = this.episodeLength;
    const steps: number[] = [];
    const answers = new Uint8Array(T);
    const shown = Math.floor(numCues / 2);
    while (steps.length < T) {
      const blanks = this.#rng.int(numCues);
      const picked = this.#rng.shuffle([...Array(numCues).keys()]).slice(0, shown);
      const middle = this.#rng.shuffle([...picked, ...Array<number>(blanks).fill(BLANK)]);
      steps.push(BLANK, ...middle, GO);
      if (steps.length - 1 < T) answers[steps.length - 1] = picked.includes(target) ? 1 : 0;
      steps.push(BLANK);
    }
    return [Int8Array.from(steps.slice(0, T)), answers];
  }

  /** The inputs of the current step, in the configured layout. */
  #observe(): Float64Array {
    const { layout } = this.config;
    const c = this.cueBits;
    const t = this.#t;
    const obs = new Float64Array(this.batchSize * this.inputSize);
    for (let b = 0; b < this.batchSize; b++) {
      const row = b * this.inputSize;
      const shows = this.schedule[b][t];
      if (shows >= 0) obs.set(this.cueVectors[b].subarray(shows * c, (shows + 1) * c), row);
      const prev = this.#prevAction[b];
      if (layout === 'code') {
        if (shows === GO) obs[row + c] = 1;
        obs[row + c + 1] = 1;
        obs[row + c + 2] = t / this.episodeLength;
        obs[row + c + 3] = this.#prevReward[b];
        if (prev >= 0) obs[row + c + 5 + prev] = 1;
      } else {
        if (shows === GO) obs.fill(1, row, row + c);
        obs[row + c] = t / this.episodeLength;
        if (prev >= 0) obs[row + c + 1 + prev] = 1;
        obs[row + c + 3] = this.#prevReward[b];
      }
    }
    return obs;
  }
}
