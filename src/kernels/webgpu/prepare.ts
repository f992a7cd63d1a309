/**
 * Host-side preparation of kernel arguments: argument checks with messages that name the op, the
 * argument and the shapes, dimension merging for the strided kernels, and the row grouping that
 * replaces float atomics in scatter_add_rows.wgsl.
 */

/** Shapes and strides travel as array<vec4<·>, 2> in Params: rank ≤ 8 after merging. */
const MAX_RANK = 8;

export function checkCount(op: string, arg: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${op}: ${arg} must be a non-negative integer, got ${value}`);
}

export function checkShape(op: string, arg: string, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new RangeError(`${op}: ${arg} [${shape}] is not a shape`);
}

/** NumPy broadcasting: `shape`, right-aligned, has outShape's size or 1 in every dimension. */
export function checkBroadcast(op: string, arg: string, shape: readonly number[], outShape: readonly number[]): void {
  checkShape(op, `${arg}Shape`, shape);
  const lead = outShape.length - shape.length;
  if (lead < 0 || shape.some((d, i) => d !== 1 && d !== outShape[lead + i])) {
    throw new RangeError(`${op}: ${arg} of shape [${shape}] does not broadcast to [${outShape}]`);
  }
}

/** Index arrays come from the host; a bad entry is caught here, before it can read out of bounds. */
export function checkIndices(op: string, arg: string, idx: Int32Array, bound: number): void {
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= bound) throw new RangeError(`${op}: ${arg}[${i}] = ${idx[i]} is out of range [0, ${bound})`);
  }
}

/**
 * The same iteration as (shape, strides of each operand) with fewer dimensions: size-1 dimensions
 * are dropped and neighbours that every operand walks contiguously (stride[d−1] = stride[d]·shape[d])
 * become one. [B, N, N] + [N, N], say, becomes [B, N·N] with strides [N·N, 1] and [0, 1], so the
 * kernels divide less and higher ranks fit MAX_RANK. The result has at least one dimension.
 */
export function mergeDims(
  op: string,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (outStrides[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => outStrides[k].push(s[d]));
    }
  }
  if (outShape.length === 0) {
    outShape.push(1);
    outStrides.forEach((s) => s.push(0));
  }
  if (outShape.length > MAX_RANK) {
    throw new RangeError(`${op}: shape [${shape}] has ${outShape.length} dimensions after merging; at most ${MAX_RANK} are supported`);
  }
  return { shape: outShape, strides: outStrides };
}

/** Checks that every offset `view` reaches over `shape` lies in [0, length). */
export function checkView(op: string, arg: string, offset: number, strides: readonly number[], shape: readonly number[], length: number): void {
  if (strides.length !== shape.length) {
    throw new RangeError(`${op}: ${arg} has ${strides.length} strides for shape [${shape}]`);
  }
  let lo = offset;
  let hi = offset;
  shape.forEach((size, d) => {
    const reach = (size - 1) * strides[d];
    if (reach < 0) lo += reach;
    else hi += reach;
  });
  if (lo < 0 || hi >= length) {
    throw new RangeError(`${op}: ${arg} (offset ${offset}, strides [${strides}]) over shape [${shape}] reaches [${lo}, ${hi}], outside a buffer of ${length} elements`);
  }
}

/**
 * Groups the positions r of `idx` by value, for scatter_add_rows.wgsl: one u32 array holding the
 * segment starts (segments + 1 entries), then each segment's row, then the positions in segment
 * order (ascending r within a segment, so the sums are deterministic).
 */
export function groupRows(idx: Int32Array): { groups: Uint32Array; segments: number } {
  const order = Uint32Array.from(idx.keys()).sort((x, y) => idx[x] - idx[y] || x - y);
  let segments = 0;
  for (let q = 0; q < order.length; q++) if (q === 0 || idx[order[q]] !== idx[order[q - 1]]) segments++;
  const groups = new Uint32Array(2 * segments + 1 + order.length);
  let s = 0;
  for (let q = 0; q < order.length; q++) {
    if (q === 0 || idx[order[q]] !== idx[order[q - 1]]) {
      groups[s] = q;
      groups[segments + 1 + s] = idx[order[q]];
      s++;
    }
  }
  groups[segments] = order.length;
  groups.set(order, 2 * segments + 1);
  return { groups, segments };
}
