// plastic_step.wgsl: the fused plastic step (PAPER.md §1, Eqs. 1-5; DESIGN.md "The plastic
// kernels"): the pending trace update, then the plastic cell reading the new trace:
//   (H', E') = the update of plastic_common.wgsl with m = mod[b, i] broadcast, Δ = post ⊗ pre
//   h[b, i]  = tanh(drive[b, i] + Σ_j (w[i, j] + α[i, j]·H'[b, i, j])·x[b, j])          (Eq. 1)
// w + α⊙H' is never materialised: each trace Chunk is read once, updated, written once, and used
// in the row's dot product while it is in registers. With cell = 0 only the update runs
// (hebbUpdate); x, drive, w, alpha and h are then bound to placeholders and never touched.
// The rule and the cell switch are specialisation constants, so the compiler folds their branches.
// Shapes (row-major, f32): hebb, elig [B, N, N] (rows postsynaptic: H[b, i, j] is the connection
// j → i); pre, post, x, drive, h [B, N]; m[b, i] = mod[b·mod_b + i·mod_i] ([1], [B] or [B, N]);
// eta [1]; w [N, N]; alpha [N, N] read as Chunks when alpha_full = 1, else alpha_row[i·alpha_stride]
// ([N] or [1], the same buffer bound a second time as floats). Indices into Chunk arrays count
// Chunks: a row holds nc = N / CW of them.
// Bindings: group 0: 0 hebb, 1 elig, 2 pre (Chunk), 3 post, 4 modulation, 5 eta, 6 x (Chunk),
// 7 drive, 8 w (Chunk), 9 alpha (Chunk), 10 alpha_row (read); 11 h, 12 hebb_out, 13 elig_out
// (read_write). elig, elig_out and eta are placeholders unless the rule is retroactive.
// Group 1: 0 p.
// Grid: one thread per row i of EB = 2 episodes, which loads w[i, j] and α[i, j] once for both
// (the B=30, N=200 hebbian forward ran 1.15-1.3x faster on lavapipe than with one episode per
// thread; against 4 episodes, 2 took 0.93-0.99x the time from B = 1 to 128, N = 100 to 500, both
// rules, bench/plastic_time.ts with builds alternated: each thread streams half as many rows at
// once). A workgroup holds WG rows of one episode block: the episodes derive from the workgroup
// id alone, so pre[b] and x[b] are read at addresses uniform across the workgroup.
// row_groups·ceil(B / EB) workgroups, 2-D grid.

override RULE: u32 = HEBBIAN;
override CELL: bool = true;
const EB: u32 = 2u; // episodes per thread: EPISODES_PER_THREAD in plastic.ts

struct Params {
  batch: u32,
  n: u32,
  nc: u32,
  row_groups: u32, // workgroups per episode block: ceil(N / WG)
  alpha_full: u32,
  alpha_stride: u32,
  mod_b: u32,
  mod_i: u32,
  soft_k: f32, // the soft clip's 1/c, else 0
  clip: f32,
}

@group(0) @binding(0) var<storage, read> hebb: array<Chunk>;
@group(0) @binding(1) var<storage, read> elig: array<Chunk>;
@group(0) @binding(2) var<storage, read> pre: array<Chunk>;
@group(0) @binding(3) var<storage, read> post: array<f32>;
@group(0) @binding(4) var<storage, read> modulation: array<f32>;
@group(0) @binding(5) var<storage, read> eta: array<f32>;
@group(0) @binding(6) var<storage, read> x: array<Chunk>;
@group(0) @binding(7) var<storage, read> drive: array<f32>;
@group(0) @binding(8) var<storage, read> w: array<Chunk>;
@group(0) @binding(9) var<storage, read> alpha: array<Chunk>;
@group(0) @binding(10) var<storage, read> alpha_row: array<f32>;
@group(0) @binding(11) var<storage, read_write> h: array<f32>;
@group(0) @binding(12) var<storage, read_write> hebb_out: array<Chunk>;
@group(0) @binding(13) var<storage, read_write> elig_out: array<Chunk>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  let eb = group / p.row_groups;
  let i = (group % p.row_groups) * WG + lid;
  if (eb * EB >= p.batch || i >= p.n) {
    return;
  }
  let retro = RULE == RETROACTIVE;
  let eta_e = select(0.0, eta[0], retro);
  let w0 = i * p.nc; // row i of w and alpha
  let alpha_i = alpha_row[i * p.alpha_stride];
  // Per episode of the block: the row's factors and the cell's sum. Loops run to the constant EB
  // (and skip episodes past B) so that they unroll and these arrays live in registers.
  var m = array<f32, EB>();
  var post_i = array<f32, EB>();
  var a = array<f32, EB>();
  var acc = array<Chunk, EB>();
  for (var e = 0u; e < EB; e++) {
    let b = eb * EB + e;
    if (b < p.batch) {
      m[e] = modulation[b * p.mod_b + i * p.mod_i];
      post_i[e] = post[b * p.n + i];
      a[e] = row_decay(RULE, m[e], post_i[e]);
    }
  }
  for (var j = 0u; j < p.nc; j++) {
    // w and α of this connection, loaded once for the block's episodes.
    var w_ij = Chunk(0.0);
    var alpha_ij = Chunk(alpha_i);
    if (CELL) {
      w_ij = w[w0 + j];
      if (p.alpha_full == 1u) {
        alpha_ij = alpha[w0 + j];
      }
    }
    for (var e = 0u; e < EB; e++) {
      let b = eb * EB + e;
      if (b >= p.batch) {
        break;
      }
      let k = (b * p.n + i) * p.nc + j;
      let pre_j = pre[b * p.nc + j];
      var d = m[e] * post_i[e] * pre_j;
      if (retro) {
        let el = elig[k];
        d = m[e] * el;
        elig_out[k] = (1.0 - eta_e) * el + eta_e * post_i[e] * pre_j;
      }
      let h_new = trace_update(hebb[k], d, a[e], p.soft_k, p.clip).h;
      hebb_out[k] = h_new;
      if (CELL) {
        acc[e] += (w_ij + alpha_ij * h_new) * x[b * p.nc + j];
      }
    }
  }
  if (CELL) {
    for (var e = 0u; e < EB; e++) {
      let b = eb * EB + e;
      if (b < p.batch) {
        let row = b * p.n + i;
        h[row] = stable_tanh(vec4<f32>(drive[row] + hsum(acc[e]))).x;
      }
    }
  }
}
