// plastic_step_bwd_prep.wgsl: the per-row coefficients of the plastic step's backward, gathered
// once so that plastic_step_bwd.wgsl reads two vec4s per row instead of six bindings:
//   dz = dh·(1 − h²), dh = Σ of its dh_count parts (0 without any), written as the gradient of drive
//   coef[2·row]     = (dz, m, m·post_i, 0)              (the pass derives the row factor itself)
//   coef[2·row + 1] = (k, α_i, η, post_i)               k = m·post_i, or η·post_i for retroactive
// k weighs row i in dpre[b, j] = Σ_i u[b, i, j]·k[b, i]; α_i is alpha_row[i·alpha_stride] (unused
// for a full alpha, which the main pass reads itself); η is 0 unless the rule is retroactive.
// Adding up dh's parts here (the autograd walk hands them over unsummed: a recurrent state's
// gradient comes from several consumers) saves the addN dispatch that would precede this one.
// Shapes: h, dh*, post, ddrive [B, N]; m[b, i] = mod[b·mod_b + i·mod_i]; eta [1]; coef [B·N, 2] vec4.
// Bindings: group 0: 0 h, 1 modulation, 2 post, 3 alpha_row, 4 eta (read); 5 ddrive, 6 coef
// (read_write); 7-12 dh0..dh5 (read), placeholders past dh_count (PLASTIC_DH_PARTS in backend.ts);
// eta is a placeholder unless retroactive. Group 1: 0 p.
// Grid: one thread per row (B·N threads), 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  n: u32,
  rule: u32,
  dh_count: u32,
  alpha_stride: u32,
  mod_b: u32,
  mod_i: u32,
}

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> modulation: array<f32>;
@group(0) @binding(2) var<storage, read> post: array<f32>;
@group(0) @binding(3) var<storage, read> alpha_row: array<f32>;
@group(0) @binding(4) var<storage, read> eta: array<f32>;
@group(0) @binding(5) var<storage, read_write> ddrive: array<f32>;
@group(0) @binding(6) var<storage, read_write> coef: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> dh0: array<f32>;
@group(0) @binding(8) var<storage, read> dh1: array<f32>;
@group(0) @binding(9) var<storage, read> dh2: array<f32>;
@group(0) @binding(10) var<storage, read> dh3: array<f32>;
@group(0) @binding(11) var<storage, read> dh4: array<f32>;
@group(0) @binding(12) var<storage, read> dh5: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = thread_index(gid, nwg);
  if (row >= p.batch * p.n) {
    return;
  }
  let b = row / p.n;
  let i = row % p.n;
  // Bindings cannot be indexed: each part is read by name, up to dh_count (uniform).
  var dh = 0.0;
  if (p.dh_count > 0u) { dh += dh0[row]; }
  if (p.dh_count > 1u) { dh += dh1[row]; }
  if (p.dh_count > 2u) { dh += dh2[row]; }
  if (p.dh_count > 3u) { dh += dh3[row]; }
  if (p.dh_count > 4u) { dh += dh4[row]; }
  if (p.dh_count > 5u) { dh += dh5[row]; }
  let dz = dh * (1.0 - h[row] * h[row]);
  ddrive[row] = dz;
  let m = modulation[b * p.mod_b + i * p.mod_i];
  let post_i = post[row];
  let retro = p.rule == RETROACTIVE;
  let eta_e = select(0.0, eta[0], retro);
  coef[2u * row] = vec4<f32>(dz, m, m * post_i, 0.0);
  coef[2u * row + 1u] = vec4<f32>(select(m, eta_e, retro) * post_i, alpha_row[i * p.alpha_stride], eta_e, post_i);
}
