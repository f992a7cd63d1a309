/**
 * The authors' A2C-style meta-training (PAPER.md §2.0; `sr/srbatch.py`, `maze/batch.py`).
 *
 * One iteration runs B episodes in parallel with full backpropagation through time, then
 *   loss = ( bent·Σ_t Σ_b Σ_a π_t(a)²  −  Σ_t Σ_b logπ_t(a_t)·stopgrad(A_t)  +  blossv·Σ_t Σ_b A_t² ) / (B·T)
 * with A_t = R_t − V_t and Monte-Carlo returns R_t = r_t + γ·R_{t+1} (no bootstrap). The Σπ² term
 * is the code's stand-in for an entropy bonus: it penalises concentrated policies. Gradients are
 * clipped by norm and Adam steps only after a burn-in of `burnIn` iterations (the code's
 * `if numiter > 100`).
 *
 * Actions are sampled on the host from the softmax probabilities read back once per step. The
 * environment runs on the host and needs the actions every step anyway, so that one small readback
 * (B×A floats) is unavoidable; sampling on the host then costs nothing more, draws from the same
 * seeded `Rng` as the environment (one state to checkpoint for an exact resume), and gives the same
 * actions on every backend for the same probabilities.
 */
import {
  add, clipGradNorm, detach, gather, logSoftmax, mul, noGrad, NonFiniteError, reshape, scale, slice, softmax, square, stack,
  sub, sum, tensor, tidy, type Adam, type Rng, type Tensor,
} from '../autograd/index.js';
import type { PlasticRNN, PlasticRNNState } from '../models/plastic_rnn.js';
import type { Env } from './env.js';

export interface A2COptions {
  /** Discount of the Monte-Carlo returns (the code's `gr`, 0.9). */
  gamma: number;
  /** Weight of the Σπ² concentration penalty (the code's `bent`). */
  entropyCoef: number;
  /** Weight of the value loss (the code's `blossv`, 0.1). */
  valueCoef: number;
  /** Gradient-norm clip (the code's `gc`). */
  gradClip: number;
  /** Iterations at the start that compute gradients but take no Adam step (101: the code's `numiter > 100`). */
  burnIn: number;
  /**
   * The value baseline of each episode: 'own' (default) uses its own V_t; 'first' reproduces the
   * released code, whose `vs[t][0]` broadcasts batch element 0's V_t to all B episodes, in both the
   * advantage and the value loss (PAPER.md §2.0, "Code quirk").
   */
  baseline: 'own' | 'first';
}

/** What one batch of episodes produced: the heads' outputs (train mode) and the host-side record. */
export interface Rollout {
  /** Episodes in the batch (B). */
  batch: number;
  /**
   * Train mode: the policy logits [T·B, A] and values [T·B, 1] of every step (row t·B + b), from
   * the network's heads applied once to every step's hidden state; null in evaluation mode.
   */
  logits: Tensor | null;
  values: Tensor | null;
  /** Chosen actions and rewards, [T, B] row-major. */
  actions: Int32Array;
  rewards: Float64Array;
  /** The network state after the last step (its tensors, and its tape in train mode). */
  state: PlasticRNNState;
}

export interface RolloutOptions {
  /** Record the graph and keep per-step outputs for the loss (true), or run without gradients. */
  train: boolean;
  /** Checked before every step: an aborted signal stops the episode by throwing its reason. */
  signal?: AbortSignal;
  /** Named in error messages. */
  iteration?: number;
}

/** The tensors of a network state, for a scope to keep or for disposal (parameters excluded by the caller). */
function stateTensors(s: PlasticRNNState): Tensor[] {
  return [s.h, s.hebb, s.elig, s.pending?.pre, s.pending?.post, s.pending?.mod].filter((t): t is Tensor => t != null);
}

/** Frees a rollout's tensors: the heads' outputs and the final state (not the parameters). */
export function disposeRollout(net: PlasticRNN, r: Rollout): void {
  const params = new Set(net.parameters());
  for (const t of [r.logits, r.values, ...stateTensors(r.state)]) if (t && !params.has(t)) t.dispose();
  r.logits = r.values = null;
  r.state.tape?.clear();
}

/**
 * Runs B episodes of `env` with `net`, sampling actions from π with `rng`. Reads the device once
 * per step (the probabilities); on error or abort, frees everything it created before rethrowing.
 *
 * Inside the episode only the recurrent part runs with gradients (`PlasticRNN.advance`); π for
 * sampling comes from the policy head without them. In train mode every step's h is kept, and
 * the heads run once, with gradients, on all of them stacked: the same values, with a few
 * dispatches per episode instead of the heads' forward, backward and gradient accumulation at
 * every step.
 */
export async function rollout(net: PlasticRNN, env: Env, rng: Rng, opts: RolloutOptions): Promise<Rollout> {
  const { batchSize: B, episodeLength: T, numActions: A, inputSize } = env;
  const params = new Set(net.parameters());
  const grad = opts.train ? <R>(fn: () => R) => fn() : noGrad;
  const r: Rollout = {
    batch: B, logits: null, values: null, actions: new Int32Array(T * B), rewards: new Float64Array(T * B), state: net.initialState(B),
  };
  /** Every step's h (train mode), for the heads after the episode; a Set for the per-step lookups. */
  const hs = new Set<Tensor>();
  try {
    let obs: Float64Array | null = env.reset();
    for (let t = 0; t < T; t++) {
      opts.signal?.throwIfAborted();
      let probs!: Tensor;
      let next!: PlasticRNNState;
      grad(() =>
        tidy(() => {
          next = net.advance(tensor(obs!, [B, inputSize]), r.state).state;
          probs = noGrad(() => softmax(net.h2o.forward(next.h)));
          return [...stateTensors(next), probs];
        }),
      );
      if (opts.train) hs.add(next.h);
      // The previous state's tensors are now either in the graph (which holds its own references),
      // shared with the new state (h becomes the pending update's `pre`) or kept for the heads
      // (its h and its pending `pre`, earlier steps' h).
      const live = new Set(stateTensors(next));
      for (const x of stateTensors(r.state)) if (!live.has(x) && !params.has(x) && !hs.has(x)) x.dispose();
      r.state = next;

      const p = await probs.data();
      probs.dispose();
      const actions = r.actions.subarray(t * B, (t + 1) * B);
      for (let b = 0; b < B; b++) {
        const row = p.subarray(b * A, (b + 1) * A);
        if (!row.every(Number.isFinite)) {
          const where = opts.iteration === undefined ? '' : ` at iteration ${opts.iteration}`;
          throw new NonFiniteError(`policy probabilities of episode ${b} are [${row.join(', ')}] at step ${t}${where}`);
        }
        actions[b] = rng.categorical(row);
      }
      const res = env.step(actions);
      r.rewards.set(res.reward, t * B);
      obs = res.obs;
    }
    if (opts.train) {
      [r.logits, r.values] = tidy(() => {
        const { logits, value } = net.heads(reshape(stack([...hs]), [T * B, net.hiddenSize]));
        return [logits, value];
      });
    }
    return r;
  } catch (e) {
    disposeRollout(net, r);
    throw e;
  } finally {
    // The graph holds its own references to these; the state still holds the last two.
    const live = new Set(stateTensors(r.state));
    for (const h of hs) if (!live.has(h)) h.dispose();
  }
}

/** R_t = r_t + γ·R_{t+1}, [T, B] row-major, computed on the host (returns need no gradient). */
export function discountedReturns(rewards: Float64Array, batch: number, gamma: number): Float64Array {
  const T = rewards.length / batch;
  const R = new Float64Array(rewards.length);
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < batch; b++) R[t * batch + b] = rewards[t * batch + b] + (t + 1 < T ? gamma * R[(t + 1) * batch + b] : 0);
  }
  return R;
}

/** The loss of PAPER.md §2.0 for a train-mode rollout (a scalar with a graph back to the parameters). */
export function a2cLoss(r: Rollout, opts: Pick<A2COptions, 'gamma' | 'entropyCoef' | 'valueCoef' | 'baseline'>): Tensor {
  if (!r.logits || !r.values) throw new Error('a2cLoss: the rollout has no logits and values (run it with train: true)');
  const B = r.batch;
  const T = r.rewards.length / B;
  const values = reshape(r.values, [T, B]);
  const returns = tensor(discountedReturns(r.rewards, B, opts.gamma), [T, B]);
  // 'first': V_t of episode 0, [T, 1], broadcast over the batch.
  const baseline = opts.baseline === 'own' ? values : slice(values, [0, 0], [T, 1]);
  const adv = sub(returns, baseline);
  const concentration = sum(square(softmax(r.logits)));
  const logPi = gather(logSoftmax(r.logits), r.actions);
  const policy = sum(mul(reshape(logPi, [T, B]), detach(adv)));
  const valueLoss = sum(square(adv));
  return scale(add(sub(scale(concentration, opts.entropyCoef), policy), scale(valueLoss, opts.valueCoef)), 1 / (B * T));
}

export interface IterationStats {
  iteration: number;
  /** Total episode reward, averaged over the batch (the code's `sumreward.mean()`). */
  reward: number;
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  /** Whether Adam stepped (false during the burn-in). */
  stepped: boolean;
}

/** One network, environment, optimizer and random stream, trained one iteration at a time. */
export class A2CTrainer {
  constructor(
    readonly net: PlasticRNN,
    readonly env: Env,
    readonly optimizer: Adam,
    readonly rng: Rng,
    readonly options: A2COptions,
  ) {}

  /**
   * Runs iteration `iteration` (0-based): B episodes, the loss, backward, clip, and the Adam step
   * unless in the burn-in. Reads the device once more per iteration (loss and gradient norm) and
   * stops with a NonFiniteError before the step if either is not finite, so the parameters stay
   * clean. If `signal` aborts during the episodes, it throws before touching the parameters.
   */
  async iteration(iteration: number, signal?: AbortSignal): Promise<IterationStats> {
    const { net, optimizer, options } = this;
    const r = await rollout(net, this.env, this.rng, { train: true, signal, iteration });
    let scalars: Tensor;
    try {
      scalars = tidy(() => {
        const loss = a2cLoss(r, options);
        optimizer.zeroGrad();
        loss.backward();
        const norm = clipGradNorm(net.parameters(), options.gradClip);
        return stack([reshape(loss, [1]), reshape(norm, [1])]);
      });
    } finally {
      disposeRollout(net, r);
    }
    const [loss, gradNorm] = await scalars.data();
    scalars.dispose();
    if (!Number.isFinite(loss)) throw new NonFiniteError(`loss is ${loss} at iteration ${iteration}`);
    if (!Number.isFinite(gradNorm)) throw new NonFiniteError(`gradient norm is ${gradNorm} at iteration ${iteration}`);
    const stepped = iteration >= options.burnIn;
    if (stepped) optimizer.step();
    let total = 0;
    for (const x of r.rewards) total += x;
    return { iteration, reward: total / this.env.batchSize, loss, gradNorm, stepped };
  }
}

/** Total reward of `episodes` episodes run by `net` without gradients, in batches of the env's size. */
export async function evaluateEpisodes(net: PlasticRNN, env: Env, rng: Rng, episodes: number, signal?: AbortSignal): Promise<Float64Array> {
  const totals = new Float64Array(episodes);
  for (let done = 0; done < episodes; done += env.batchSize) {
    const r = await rollout(net, env, rng, { train: false, signal });
    disposeRollout(net, r);
    for (let i = 0; i < r.rewards.length; i++) {
      const e = done + (i % env.batchSize);
      if (e < episodes) totals[e] += r.rewards[i];
    }
  }
  return totals;
}
