// softmax.wgsl: over the last axis of x viewed as [rows, cols], numerically stable:
//   softmax:    out[r, c] = exp(x[r, c] − mx) / s
//   logSoftmax: out[r, c] = x[r, c] − mx − log(s)
// with mx = max_c x[r, c] and s = Σ_c exp(x[r, c] − mx) ≥ 1, so nothing overflows.
// Shapes: x, out [rows, cols].
// Bindings: group 0: 0 x (read), 1 out (read_write). Group 1: 0 p.
// Grid: one thread per row (rows threads), 2-D grid of WG-thread workgroups.

struct Params {
  rows: u32,
  cols: u32,
  log: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
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
  if (p.log != 0u) {
    let shift = mx + log(s);
    for (var c = 0u; c < p.cols; c++) {
      out[base + c] = x[base + c] - shift;
    }
  } else {
    let inv = 1.0 / s;
    for (var c = 0u; c < p.cols; c++) {
      out[base + c] = exp(x[base + c] - mx) * inv;
    }
  }
}
