/**
 * Task 2, grid-maze exploration (PAPER.md §2.2; the authors' `maze/batch.py` is the default).
 *
 * The maze is `size`×`size` with a wall border; interior cells with even row and even column are
 * pillars, and the centre is forced free. Size 13 (the runs and the figure: 11×11 interior, 24
 * pillars, 97 free cells) is the default; size 11 is the paper text's "9×9, 16 walls".
 *
 * Each episode the agent starts at the centre and an invisible reward cell is drawn uniformly from
 * the free cells other than the centre. Actions: 0 = up (row−1), 1 = down, 2 = left (col−1),
 * 3 = right. Moving into a wall leaves the agent in place and costs `wallPenalty` (the code's `wp`,
 * 0 in the paper runs). Stepping onto the reward cell earns `reward` (+10) and teleports the agent
 * to a uniformly drawn free cell other than the reward cell. The agent learns of a hit only through
 * the reward input of the next step.
 */
import type { Rng } from '../autograd/index.js';
import { checkActions, type Env, type EnvStep } from './env.js';

/**
 * Input layout, 17 floats (`maze/batch.py`, as in `simplemaze/maze.py`):
 * [0:9] the 3×3 neighbourhood centred on the agent, row-major, 1 = wall; [9] unused; [10] bias 1;
 * [11] t/episodeLength; [12] previous reward; [13:17] one-hot previous action. The code keeps the
 * previous actions in an array of zeros at t = 0, so action 0 (up) is flagged at the first step.
 */
export const MAZE_INPUTS = 17;
const RF = 3;
const BIAS = 10;
const TIME = 11;
const REWARD = 12;
const ACTION = 13;

/** Row and column offsets of actions 0..3: up, down, left, right. */
const MOVES: readonly [number, number][] = [[-1, 0], [1, 0], [0, -1], [0, 1]];

export interface MazeConfig {
  /** Side of the square grid, border included: 13 (the code's runs) or 11 (the paper text). */
  size: number;
  episodeLength: number;
  /** Reward for reaching the reward cell (the code's `rew`). */
  reward: number;
  /** Cost of bumping into a wall (the code's `wp`; the 2018 code used 0.1). */
  wallPenalty: number;
}

export const MAZE_DEFAULTS: MazeConfig = { size: 13, episodeLength: 200, reward: 10, wallPenalty: 0 };

export interface MazeOptions extends Partial<MazeConfig> {
  batchSize: number;
  rng: Rng;
}

/** The fixed grid: 1 = wall, row-major `size`×`size`. */
export function mazeWalls(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < 5 || size % 2 === 0) throw new RangeError(`maze: size must be an odd integer >= 5, got ${size}`);
  const walls = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const border = r === 0 || c === 0 || r === size - 1 || c === size - 1;
      walls[r * size + c] = border || (r % 2 === 0 && c % 2 === 0) ? 1 : 0;
    }
  }
  const centre = (size >> 1) * size + (size >> 1);
  walls[centre] = 0;
  return walls;
}

export class MazeEnv implements Env {
  readonly batchSize: number;
  readonly inputSize = MAZE_INPUTS;
  readonly numActions = 4;
  readonly episodeLength: number;
  readonly config: MazeConfig;
  readonly walls: Uint8Array;
  /** Flat index (row·size + col) of the centre, where every episode starts. */
  readonly centre: number;
  /** Per episode: the agent's cell and the reward cell, as flat indices. */
  readonly position: Int32Array;
  readonly rewardCell: Int32Array;
  readonly #free: number[];
  readonly #rng: Rng;
  #t = 0;
  #prevReward: Float64Array;
  #prevAction: Int32Array;

  constructor(opts: MazeOptions) {
    const { batchSize, rng, ...rest } = opts;
    this.config = { ...MAZE_DEFAULTS, ...rest };
    const { size, episodeLength } = this.config;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`MazeEnv: batchSize must be a positive integer, got ${batchSize}`);
    if (!Number.isInteger(episodeLength) || episodeLength < 1) throw new RangeError(`MazeEnv: episodeLength must be a positive integer, got ${episodeLength}`);
    this.walls = mazeWalls(size);
    this.centre = (size >> 1) * size + (size >> 1);
    this.#free = [...this.walls.keys()].filter((i) => this.walls[i] === 0);
    this.batchSize = batchSize;
    this.episodeLength = episodeLength;
    this.#rng = rng;
    this.position = new Int32Array(batchSize);
    this.rewardCell = new Int32Array(batchSize);
    this.#prevReward = new Float64Array(batchSize);
    this.#prevAction = new Int32Array(batchSize);
  }

  /** The free cells (flat indices), in row-major order. */
  get freeCells(): readonly number[] {
    return this.#free;
  }

  reset(): Float64Array {
    for (let b = 0; b < this.batchSize; b++) {
      this.rewardCell[b] = this.#drawFreeCell(this.centre);
      this.position[b] = this.centre;
    }
    this.#t = 0;
    this.#prevReward.fill(0);
    this.#prevAction.fill(0);
    return this.#observe();
  }

  step(actions: ArrayLike<number>): EnvStep {
    if (this.#t >= this.episodeLength) throw new RangeError(`MazeEnv.step: the episode ended after ${this.episodeLength} steps; call reset()`);
    checkActions(this, actions);
    const { size, reward, wallPenalty } = this.config;
    const r = new Float64Array(this.batchSize);
    for (let b = 0; b < this.batchSize; b++) {
      const [dr, dc] = MOVES[actions[b]];
      const target = this.position[b] + dr * size + dc;
      if (this.walls[target]) r[b] -= wallPenalty;
      else this.position[b] = target;
      if (this.position[b] === this.rewardCell[b]) {
        r[b] += reward;
        this.position[b] = this.#drawFreeCell(this.rewardCell[b]);
      }
      this.#prevAction[b] = actions[b];
    }
    this.#prevReward.set(r);
    this.#t++;
    return { reward: r, obs: this.#t < this.episodeLength ? this.#observe() : null };
  }

  /** A free cell drawn uniformly, other than `except` (the code's rejection loop, in one draw). */
  #drawFreeCell(except: number): number {
    const k = this.#rng.int(this.#free.length - 1);
    const cell = this.#free[k];
    return cell >= except ? this.#free[k + 1] : cell;
  }

  #observe(): Float64Array {
    const { size } = this.config;
    const obs = new Float64Array(this.batchSize * MAZE_INPUTS);
    for (let b = 0; b < this.batchSize; b++) {
      const row = b * MAZE_INPUTS;
      const pos = this.position[b];
      for (let i = 0; i < RF; i++) {
        for (let j = 0; j < RF; j++) obs[row + i * RF + j] = this.walls[pos + (i - 1) * size + (j - 1)];
      }
      obs[row + BIAS] = 1;
      obs[row + TIME] = this.#t / this.episodeLength;
      obs[row + REWARD] = this.#prevReward[b];
      obs[row + ACTION + this.#prevAction[b]] = 1;
    }
    return obs;
  }
}
