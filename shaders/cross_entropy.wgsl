// cross_entropy.wgsl: loss[r] = logsumexp(x[r, :]) − x[r, target[r]], with the stable
// logsumexp = mx + log(Σ_c exp(x[r, c] − mx)), mx = max_c x[r, c].
// Shapes: x [rows, cols], targets [rows] (u32, checked < cols on the host), loss [rows].
// Bindings: group 0: 0 x (read), 1 targets (u32, read), 2 loss (read_write). Group 1: 0 p.
// Grid: one thread per row (rows threads), 2-D grid of WG-thread workgroups.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<u32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = thread_index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  let base = r * p.cols;
  let ms = row_max_sum(base); // row_logsumexp.wgsl
  let mx = ms.x;
  let s = ms.y;
  loss[r] = mx + log(s) - x[base + targets[r]];
}
