/**
 * A training run's checkpoint: everything an interrupted run needs to continue exactly as if it had
 * never stopped (DESIGN.md, Reliability). One safetensors file, written atomically:
 *   tensors   `model.<name>` (the network's parameters), `optim.<i>.<slot>` (Adam's moments);
 *   metadata  `format`, `config` (the TrainConfig, JSON), `iteration` (iterations completed),
 *             `rng` (the Rng state, JSON), `optim` (Adam's options and step counts, JSON).
 */
import {
  loadCheckpoint, saveCheckpoint, type Adam, type HostTensor, type OptimizerStateDict, type Rng, type RngState, type Tensor,
} from '../autograd/index.js';
import type { PlasticRNN } from '../models/plastic_rnn.js';
import type { TrainConfig } from './presets.js';

export const CHECKPOINT_FORMAT = 'backpropamine-a2c-1';

export interface RunState {
  config: TrainConfig;
  /** Iterations completed; the next one to run has this index. */
  iteration: number;
  rng: RngState;
  model: Record<string, HostTensor>;
  optim: OptimizerStateDict<HostTensor>;
}

export async function saveRunCheckpoint(
  path: string,
  run: { config: TrainConfig; iteration: number; net: PlasticRNN; optimizer: Adam; rng: Rng },
): Promise<void> {
  const optim = run.optimizer.stateDict();
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(run.net.stateDict())) tensors[`model.${k}`] = t;
  for (const [k, t] of Object.entries(optim.tensors)) tensors[`optim.${k}`] = t;
  await saveCheckpoint(path, tensors, {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(run.config),
    iteration: String(run.iteration),
    rng: JSON.stringify(run.rng.getState()),
    optim: JSON.stringify(optim.meta),
  });
}

export async function loadRunCheckpoint(path: string): Promise<RunState> {
  const { tensors, metadata } = await loadCheckpoint(path);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${path}: not a training checkpoint (format '${metadata.format ?? 'none'}', expected '${CHECKPOINT_FORMAT}')`);
  }
  const pick = (prefix: string) =>
    Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
  return {
    config: JSON.parse(metadata.config) as TrainConfig,
    iteration: Number(metadata.iteration),
    rng: JSON.parse(metadata.rng) as RngState,
    model: pick('model.'),
    optim: { tensors: pick('optim.'), meta: JSON.parse(metadata.optim) as OptimizerStateDict['meta'] },
  };
}
