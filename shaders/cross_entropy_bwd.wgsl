// cross_entropy_bwd.wgsl: dx[r, c] = dy[r]·(softmax(x)[r, c] − [c = target[r]]), the softmax
// computed stably as exp(x[r, c] − mx) / Σ_c exp(x[r, c] − mx), mx = max_c x[r, c].
// Shapes: x [rows, cols], dy [rows], targets [rows] (u32, checked < cols on the host), dx [rows, cols].
// Bindings: group 0: 0 x, 1 dy (read), 2 targets (u32, read), 3 dx (read_write). Group 1: 0 p.
// Grid: one thread per row (rows threads), 2-D grid of WG-thread workgroups.

struct Params {
  rows: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
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
  let scale = dy[r] / s;
  for (var c = 0u; c < p.cols; c++) {
    dx[base + c] = exp(x[base + c] - mx) * scale;
  }
  dx[base + targets[r]] -= dy[r];
}
