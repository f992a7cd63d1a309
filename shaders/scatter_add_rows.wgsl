// scatter_add_rows.wgsl: out[v, c] = Σ_{r: idx[r] = v} dy[r, c], the backward of gather_rows.
// WGSL has no float atomics, so the host groups the rows instead: it sorts idx and uploads, in one
// u32 buffer `groups`,
//   [0, segments]                  segment starts (segments + 1 entries, into `order`),
//   [rows_at, rows_at + segments)  the distinct row v of each segment,
//   [order_at, order_at + n_idx)   the positions r of dy, grouped by segment.
// Each thread sums one column of one segment, in a fixed order: the result is deterministic.
// Rows no index refers to are not written here; the host zero-fills out first.
// Shapes: dy [n_idx, cols], out [rows, cols].
// Bindings: group 0: 0 dy (read), 1 groups (u32, read), 2 out (read_write). Group 1: 0 p.
// Grid: one thread per (segment, column) (segments·cols threads), 2-D grid of WG-thread workgroups.

struct Params {
  segments: u32,
  cols: u32,
  rows_at: u32,
  order_at: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> groups: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.segments * p.cols) {
    return;
  }
  let s = t / p.cols;
  let c = t % p.cols;
  var sum = 0.0;
  for (var q = groups[s]; q < groups[s + 1u]; q++) {
    sum += dy[groups[p.order_at + q] * p.cols + c];
  }
  out[groups[p.rows_at + s] * p.cols + c] = sum;
}
