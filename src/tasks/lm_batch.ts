/**
 * Batching of a token stream for truncated BPTT (Zaremba et al. 2014; PyTorch's
 * word_language_model), kept apart from the file loader so that training runs in a browser too.
 */

/**
 * The token stream cut into `batch` contiguous columns, time-major (Zaremba et al.'s batchify):
 * column b holds tokens [b·length, (b+1)·length) of the stream, the tail that does not fill a
 * column is dropped. Each column is read left to right across minibatches, so a hidden state
 * carried from one minibatch to the next continues the same text.
 */
export interface Batched {
  /** data[t·batch + b] = stream[b·length + t]. */
  data: Int32Array;
  batch: number;
  length: number;
}

export function batchify(tokens: Int32Array, batch: number): Batched {
  if (!(Number.isInteger(batch) && batch >= 1)) throw new RangeError(`batchify: batch must be a positive integer, got ${batch}`);
  const length = Math.floor(tokens.length / batch);
  if (length < 2) throw new RangeError(`batchify: ${tokens.length} tokens are too few for ${batch} columns of at least 2`);
  const data = new Int32Array(length * batch);
  for (let b = 0; b < batch; b++) for (let t = 0; t < length; t++) data[t * batch + b] = tokens[b * length + t];
  return { data, batch, length };
}

/** Inputs rows [i, i+T) and targets rows [i+1, i+1+T), flattened time-major ([T, batch]); T = min(seqLen, length−1−i). */
export function getBatch(src: Batched, i: number, seqLen: number): { inputs: Int32Array; targets: Int32Array; seqLen: number } {
  const T = Math.min(seqLen, src.length - 1 - i);
  if (!(T >= 1)) throw new RangeError(`getBatch: position ${i} leaves no targets in a stream of length ${src.length}`);
  const B = src.batch;
  return { inputs: src.data.subarray(i * B, (i + T) * B), targets: src.data.subarray((i + 1) * B, (i + 1 + T) * B), seqLen: T };
}
