// plastic_step_bwd.wgsl: the backward of plastic_step.wgsl: the one pass over the traces. It reads
// H, dH' (and E, dE') once, writes dH (and dE) once, and leaves every other gradient as partial
// sums small enough for plastic_step_bwd_finish.wgsl and the backend's reduce to finish.
// Math, with the row coefficients (dz, m, m·post_i, a), (k, α_i, η, post_i) of
// plastic_step_bwd_prep.wgsl and the update of plastic_common.wgsl recomputed from H (and E):
//   G  = dH' + α[i, j]·dz_i·x_j              (the total gradient of H': the cell reads it)
//   dH = G·∂H'/∂H;  gd = G·∂H'/∂d
//   retroactive: dE = gd·m + (1 − η)·dE' and u = dE';  otherwise u = gd
// and the sums, each over the indices one thread covers (R rows × EB episodes × all columns):
//   row_sums[b, i]         = (Σ_j u·pre_j, Σ_j s2, Σ_j dE'·E, Σ_j H'·x_j),  s2 = gd·E if retroactive, else G·H
//   col_x[b, rb, j]        = Σ_{i in block rb} (w[i, j] + α[i, j]·H')·dz_i     (→ dx)
//   col_pre[b, rb, j]      = Σ_{i in block rb} u·k_i                           (→ dpre)
//   dw_part[eb, i, j]      = Σ_{b in block eb} dz_i·x_j                        (→ dw)
//   dalpha_part[eb, i, j]  = Σ_{b in block eb} dz_i·H'·x_j                     (→ dalpha, full alpha only)
// Why this tiling: a row sum needs all of a row, a column sum all rows, dw and dalpha all episodes.
// Without float atomics or barriers in the hot loop (DESIGN.md field notes) each thread finishes
// the row sums of its tile and leaves the other two as partials, 1/R and 1/EB the traces' size.
// Shapes (row-major, f32): traces [B, N, N]; pre, x [B, N]; w, alpha [N, N]; coef [B·N, 2] vec4;
// row_sums [B·N] vec4; col_x, col_pre [B, ceil(N/R), N]; dw_part, dalpha_part [ceil(B/EB), N, N].
// Indices into Chunk arrays count Chunks (nc = N / CW per row).
// Bindings: group 0: 0 hebb, 1 elig, 2 dhebb (dH'), 3 delig (dE'), 4 pre, 5 x, 6 w, 7 alpha,
// 8 coef (read); 9 dhebb_out, 10 delig_out, 11 row_sums, 12 col_x, 13 col_pre, 14 dw_part,
// 15 dalpha_part (read_write). elig, delig, delig_out are placeholders unless retroactive; dhebb
// and delig are never read without has_dhebb, has_delig; alpha and dalpha_part need alpha_full.
// Group 1: 0 p.
// Grid: one thread per tile of R rows × EB episodes. A workgroup holds WG row blocks of one episode
// block: the episodes derive from the workgroup id alone, so pre[b] and x[b] are read at addresses
// uniform across the workgroup. block_groups·episode_blocks workgroups, 2-D grid.

const R: u32 = 4u; // rows per thread: ROWS_PER_THREAD in plastic.ts
const EB: u32 = 4u; // episodes per thread: EPISODES_PER_THREAD in plastic.ts

struct Params {
  batch: u32,
  n: u32,
  nc: u32,
  row_blocks: u32, // ceil(N / R)
  block_groups: u32, // workgroups per episode block: ceil(row_blocks / WG)
  episode_blocks: u32, // ceil(B / EB)
  rule: u32,
  alpha_full: u32,
  has_dhebb: u32,
  has_delig: u32,
  soft_k: f32, // the soft clip's 1/c, else 0
  clip: f32,
}

@group(0) @binding(0) var<storage, read> hebb: array<Chunk>;
@group(0) @binding(1) var<storage, read> elig: array<Chunk>;
@group(0) @binding(2) var<storage, read> dhebb: array<Chunk>;
@group(0) @binding(3) var<storage, read> delig: array<Chunk>;
@group(0) @binding(4) var<storage, read> pre: array<Chunk>;
@group(0) @binding(5) var<storage, read> x: array<Chunk>;
@group(0) @binding(6) var<storage, read> w: array<Chunk>;
@group(0) @binding(7) var<storage, read> alpha: array<Chunk>;
@group(0) @binding(8) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> dhebb_out: array<Chunk>;
@group(0) @binding(10) var<storage, read_write> delig_out: array<Chunk>;
@group(0) @binding(11) var<storage, read_write> row_sums: array<vec4<f32>>;
@group(0) @binding(12) var<storage, read_write> col_x: array<Chunk>;
@group(0) @binding(13) var<storage, read_write> col_pre: array<Chunk>;
@group(0) @binding(14) var<storage, read_write> dw_part: array<Chunk>;
@group(0) @binding(15) var<storage, read_write> dalpha_part: array<Chunk>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let group = wid.y * nwg.x + wid.x;
  let eb = group / p.block_groups;
  let rb = (group % p.block_groups) * WG + lid;
  if (eb >= p.episode_blocks || rb >= p.row_blocks) {
    return;
  }
  let retro = p.rule == RETROACTIVE;
  // Tile slot q = e·R + r holds row rb·R + r of episode eb·EB + e. Loops run to the constants R and
  // EB (and skip slots past N or B) so that they unroll and these arrays live in registers.
  var coefs: array<vec4<f32>, 2u * R * EB>;
  var sums: array<vec4<f32>, R * EB>;
  for (var e = 0u; e < EB; e++) {
    for (var r = 0u; r < R; r++) {
      let b = eb * EB + e;
      let i = rb * R + r;
      if (b < p.batch && i < p.n) {
        let row = b * p.n + i;
        coefs[2u * (e * R + r)] = coef[2u * row];
        coefs[2u * (e * R + r) + 1u] = coef[2u * row + 1u];
      }
    }
  }

  for (var j = 0u; j < p.nc; j++) {
    // Zeroed explicitly: with Dawn on lavapipe, a bare `var a: array<...>;` in a loop body kept the
    // previous iteration's values.
    var dw_acc = array<Chunk, R>();
    var dalpha_acc = array<Chunk, R>();
    // w and α of the tile's rows, loaded once for all EB episodes: on lavapipe every storage access
    // is a per-lane loop, so reloading them per episode cost more than their bytes suggest.
    var w_r = array<Chunk, R>();
    var alpha_r = array<Chunk, R>();
    for (var r = 0u; r < R; r++) {
      let i = rb * R + r;
      if (i >= p.n) {
        break;
      }
      w_r[r] = w[i * p.nc + j];
      if (p.alpha_full == 1u) {
        alpha_r[r] = alpha[i * p.nc + j];
      }
    }
    for (var e = 0u; e < EB; e++) {
      let b = eb * EB + e;
      if (b >= p.batch) {
        break;
      }
      let pre_j = pre[b * p.nc + j];
      let x_j = x[b * p.nc + j];
      var col_x_acc = Chunk(0.0);
      var col_pre_acc = Chunk(0.0);
      for (var r = 0u; r < R; r++) {
        let i = rb * R + r;
        if (i >= p.n) {
          break;
        }
        let q = e * R + r;
        let c0 = coefs[2u * q]; // (dz, m, m·post_i, a)
        let c1 = coefs[2u * q + 1u]; // (k, α_i, η, post_i)
        let dz = c0.x;
        let m = c0.y;
        let k = (b * p.n + i) * p.nc + j;
        var alpha_ij = Chunk(c1.y);
        if (p.alpha_full == 1u) {
          alpha_ij = alpha_r[r];
        }
        let h_old = hebb[k];
        var e_old = Chunk(0.0);
        var d = c0.z * pre_j;
        if (retro) {
          e_old = elig[k];
          d = m * e_old;
        }
        let upd = trace_update(h_old, d, c0.w, p.soft_k, p.clip);
        var g = alpha_ij * (dz * x_j);
        if (p.has_dhebb == 1u) {
          g += dhebb[k];
        }
        dhebb_out[k] = g * upd.dh;
        let gd = g * upd.dd;
        var u = gd;
        var s2 = g * h_old;
        var de = Chunk(0.0);
        if (retro) {
          if (p.has_delig == 1u) {
            de = delig[k];
          }
          delig_out[k] = gd * m + (1.0 - c1.z) * de;
          u = de;
          s2 = gd * e_old;
        }
        sums[q] += vec4<f32>(hsum(u * pre_j), hsum(s2), hsum(de * e_old), hsum(upd.h * x_j));
        col_x_acc += (w_r[r] + alpha_ij * upd.h) * dz;
        col_pre_acc += u * c1.x;
        dw_acc[r] += dz * x_j;
        dalpha_acc[r] += dz * upd.h * x_j;
      }
      let c = (b * p.row_blocks + rb) * p.nc + j;
      col_x[c] = col_x_acc;
      col_pre[c] = col_pre_acc;
    }
    for (var r = 0u; r < R; r++) {
      let i = rb * R + r;
      if (i >= p.n) {
        break;
      }
      let wp = (eb * p.n + i) * p.nc + j;
      dw_part[wp] = dw_acc[r];
      if (p.alpha_full == 1u) {
        dalpha_part[wp] = dalpha_acc[r];
      }
    }
  }

  for (var e = 0u; e < EB; e++) {
    for (var r = 0u; r < R; r++) {
      let b = eb * EB + e;
      let i = rb * R + r;
      if (b < p.batch && i < p.n) {
        row_sums[b * p.n + i] = sums[e * R + r];
      }
    }
  }
}
