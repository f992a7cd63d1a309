// plastic_step_bwd_prep.wgsl: the per-row coefficients of the plastic step's backward, gathered
// once so that plastic_step_bwd.wgsl reads two vec4s per row instead of six bindings:
//   dz = dh·(1 − h²) (0 without dh), written as the gradient of drive
//   coef[2·row]     = (dz, m, m·post_i, a)              a: the rule's row factor (plastic_common)
//   coef[2·row + 1] = (k, α_i, η, post_i)               k = m·post_i, or η·post_i for retroactive
// k weighs row i in dpre[b, j] = Σ_i u[b, i, j]·k[b, i]; α_i is alpha_row[i·alpha_stride] (unused
// for a full alpha, which the main pass reads itself); η is 0 unless the rule is retroactive.
// Shapes: h, dh, post, ddrive [B, N]; m[b, i] = mod[b·mod_b + i·mod_i]; eta [1]; coef [B·N, 2] vec4.
// Bindings: group 0: 0 h, 1 dh, 2 modulation, 3 post, 4 alpha_row, 5 eta (read); 6 ddrive,
// 7 coef (read_write). dh is a placeholder when has_dh = 0, eta unless retroactive. Group 1: 0 p.
// Grid: one thread per row (B·N threads), 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  n: u32,
  rule: u32,
  has_dh: u32,
  alpha_stride: u32,
  mod_b: u32,
  mod_i: u32,
}

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> dh: array<f32>;
@group(0) @binding(2) var<storage, read> modulation: array<f32>;
@group(0) @binding(3) var<storage, read> post: array<f32>;
@group(0) @binding(4) var<storage, read> alpha_row: array<f32>;
@group(0) @binding(5) var<storage, read> eta: array<f32>;
@group(0) @binding(6) var<storage, read_write> ddrive: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = thread_index(gid, nwg);
  if (row >= p.batch * p.n) {
    return;
  }
  let b = row / p.n;
  let i = row % p.n;
  var dz = 0.0;
  if (p.has_dh == 1u) {
    dz = dh[row] * (1.0 - h[row] * h[row]);
  }
  ddrive[row] = dz;
  let m = modulation[b * p.mod_b + i * p.mod_i];
  let post_i = post[row];
  let retro = p.rule == RETROACTIVE;
  let eta_e = select(0.0, eta[0], retro);
  coef[2u * row] = vec4<f32>(dz, m, m * post_i, row_decay(p.rule, m, post_i));
  coef[2u * row + 1u] = vec4<f32>(select(m, eta_e, retro) * post_i, alpha_row[i * p.alpha_stride], eta_e, post_i);
}
