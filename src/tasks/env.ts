/**
 * The batched environment interface shared by the RL tasks (PAPER.md §2.1, §2.2).
 *
 * B independent episodes advance in lockstep, as in the authors' batched code: every step the
 * agent sees one input row per episode and answers with one action per episode. Environments run
 * on the host and draw all their randomness from the `Rng` they are given, so a seed fixes every
 * episode and a saved `Rng` state resumes them exactly.
 */
export interface Env {
  readonly batchSize: number;
  /** Floats per input row. */
  readonly inputSize: number;
  readonly numActions: number;
  /** Steps per episode (the code's `eplen`). */
  readonly episodeLength: number;
  /** Starts B new episodes; returns the inputs of step 0, [B, inputSize] row-major. */
  reset(): Float64Array;
  /**
   * Applies one action per episode (integers in [0, numActions)) to the current step. Returns the
   * reward each episode earned for it and the inputs of the next step (null after the last step).
   */
  step(actions: ArrayLike<number>): EnvStep;
}

export interface EnvStep {
  reward: Float64Array;
  obs: Float64Array | null;
}

/** Throws a RangeError unless `actions` holds one valid action per episode. */
export function checkActions(env: Env, actions: ArrayLike<number>): void {
  if (actions.length !== env.batchSize) {
    throw new RangeError(`${env.constructor.name}.step: expected ${env.batchSize} actions, got ${actions.length}`);
  }
  for (let b = 0; b < actions.length; b++) {
    const a = actions[b];
    if (!Number.isInteger(a) || a < 0 || a >= env.numActions) {
      throw new RangeError(`${env.constructor.name}.step: actions[${b}] = ${a} is not an integer in [0, ${env.numActions})`);
    }
  }
}
