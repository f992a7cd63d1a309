// gather_rows.wgsl: out[r, c] = table[idx[r], c] (embedding lookup).
// Shapes: table [rows, cols], idx [n_idx] (u32, checked < rows on the host), out [n_idx, cols].
// Bindings: group 0: 0 table (read), 1 idx (u32, read), 2 out (read_write). Group 1: 0 p.
// Grid: one thread per output element (n = n_idx·cols threads), 2-D grid of WG-thread workgroups.

struct Params {
  n: u32,
  cols: u32,
}

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> idx: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.n) {
    return;
  }
  out[t] = table[idx[t / p.cols] * p.cols + t % p.cols];
}
