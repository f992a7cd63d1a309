// plastic_step_bwd.wgsl: the backward of plastic_step.wgsl: the one pass over the traces. It reads
// H, dH' (and E, dE') once, writes dH (and dE) once, finishes dx and dpre, and leaves the row sums
// as per-lane shares for plastic_step_bwd_finish.wgsl and dalpha and dw as per-block partials for
// the backend's reduce.
// Math, with the row coefficients (dz, m, m·post_i, ·), (k, α_i, η, post_i) of
// plastic_step_bwd_prep.wgsl and the update of plastic_common.wgsl recomputed from H (and E):
//   G  = dH' + α[i, j]·dz_i·x_j              (the total gradient of H': the cell reads it)
//   dH = G·∂H'/∂H;  gd = G·∂H'/∂d
//   retroactive: dE = gd·m + (1 − η)·dE' and u = dE';  otherwise u = gd
//   dx[b, j]   = Σ_i (w[i, j] + α[i, j]·H')·dz_i;   dpre[b, j] = Σ_i u·k_i
//   row sums over j of (S1, S2, S3, S4) = (u·pre_j, s2, dE'·E, H'·x_j), s2 = gd·E if retroactive,
//   else G·H, and S4 = 0 where alpha is full (only a per-row alpha's gradient reads it): each lane
//   adds up its CPL Chunks' shares, and store_shares (plastic_shares_*.wgsl) stores them in
//   row_part, ns floats per (row, lane), or with subgroups their sum over the lanes, a vec4 per
//   (row, column group)
//   grad_part[eb, 0, i, j] = Σ_{b in episode block eb} dz_i·H'·x_j  (dalpha; full alpha only)
//   grad_part[eb, last, i, j] = Σ_{b in episode block eb} dz_i·x_j   (dw, if WITH_DW)
// dw needs no trace, and the host takes it as a matmul where the episodes span several blocks;
// with one block (WITH_DW, B ≤ EB) it comes from here, a dispatch fewer (plastic.ts says why).
// Why this tiling: lanes are columns. Each lane walks every row of its EB episodes for its CPL
// Chunk columns, so the column sums dx and dpre stay in its registers, and neighbouring lanes read
// neighbouring Chunks of a row.
// A tiling that gave each lane a block of rows ran 4x slower than the bytes it moved on lavapipe
// (each 8-lane SIMD group streamed ~800 rows at once). The row sums cross lanes, and WGSL has no
// float atomics: adding the shares in workgroup memory needs barriers, which made this kernel 1.7x
// slower on lavapipe, so they go to memory for the finish pass (added across the lanes by
// subgroupAdd first, where the device has subgroups).
// Shapes (row-major, f32): traces [B, N, N]; pre, x [B, N]; w, alpha [N, N]; coef [B·N, 2] vec4;
// dx, dpre [B, N]; row_part [B, N, col_groups·WGC, ns] or [B, N, col_groups, 4] (subgroups);
// grad_part [episode_blocks, parts, N, N], parts = ALPHA_FULL + WITH_DW.
// Indices into Chunk arrays count Chunks (nc = N / CW per row).
// Bindings: group 0: 0 hebb, 1 elig, 2 dhebb (dH'), 3 delig (dE'), 4 pre, 5 x, 6 w, 7 alpha,
// 8 coef (read); 9 dhebb_out, 10 delig_out, 11 dx, 12 dpre, 13 grad_part, 14 row_part
// (read_write). elig, delig, delig_out are placeholders unless retroactive; dhebb and delig are
// never read without TRACE_GRADS, alpha without ALPHA_FULL. Group 1: 0 p.
// Grid: workgroup (eb, cg) holds episodes eb·EB.. and WGC·CPL Chunk columns: lane l has columns
// (cg·CPL + q)·WGC + l for q < CPL. episode_blocks·col_groups workgroups, 2-D grid.

// The rule (plastic_common.wgsl): a specialisation constant, so the compiler folds its branches.
override RULE: u32 = HEBBIAN;
// 1: also sum dw into grad_part. A constant too: as a uniform, its accumulator's registers made
// the retroactive backward at B = 30, N = 200 1.03-1.06x slower where it was off.
override WITH_DW: u32 = 0u;
// The geometry's clip kind, alpha shape and whether dH' (and dE') come in, as constants: with the
// clip's k folded to 0 where the clip is not soft and no per-element branch on the others, the
// whole backward took 0.918x the time at B = 30, N = 200 (hebbian), 0.936x (retroactive) and
// 0.93x in the plastic LSTM's geometry (B = 20, N = 196, α and M per neuron), against uniforms
// (bench/plastic_time.ts builds alternated 5-8 times). Without trace gradients (an episode's last
// step) dH' and dE' count as zero.
override SOFT_CLIP: bool = false;
override ALPHA_FULL: bool = true;
override TRACE_GRADS: bool = true;
// EB (episodes per workgroup) and CPL (Chunk columns per lane) come per rule from plastic.ts
// (BWD_TILING, where the why is), as consts: they size the arrays below.
// Lanes per workgroup: BWD_LANES in plastic.ts. One 8-wide SIMD group on lavapipe, which runs
// each workgroup as one task of its threads: the grid has a workgroup per column group and EB
// episodes, and with a row per workgroup (64 lanes, 4 episodes) B = 20, N = 196 made 5 tasks for 2
// threads. 8 lanes took 0.87x the time of the whole backward there (retroactive; hebbian 0.88x),
// 0.90-0.99x at B = 1 to 128 and N = 100 to 500, 0.99-1.0x at B = 30, N = 200
// (bench/plastic_time.ts geometry, the two alternated 30 times in one process). A GPU, with its
// many cores, also wants more workgroups than rows of 64.
const WGC: u32 = 8u;

struct Params {
  batch: u32,
  n: u32,
  nc: u32,
  col_groups: u32, // ceil(nc / (WGC·CPL))
  episode_blocks: u32, // ceil(B / EB)
  ns: u32, // floats per (row, lane) in row_part: 4, or for hebbian 1 (full alpha) or 2
  soft_k: f32, // the soft clip's 1/c (read with SOFT_CLIP)
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
@group(0) @binding(11) var<storage, read_write> dx: array<Chunk>;
@group(0) @binding(12) var<storage, read_write> dpre: array<Chunk>;
@group(0) @binding(13) var<storage, read_write> grad_part: array<Chunk>;
// binding 14, row_part: in plastic_shares_*.wgsl (appended)
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WGC)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lane: u32) {
  let group = wid.y * nwg.x + wid.x;
  let eb = group / p.col_groups;
  let cg = group % p.col_groups;
  if (eb >= p.episode_blocks) {
    return; // the 2-D grid's spare workgroups (uniform: a per-lane return made this kernel slower)
  }
  let retro = RULE == RETROACTIVE;
  let soft_k = select(0.0, p.soft_k, SOFT_CLIP);
  // This lane's columns (in Chunks): CPL of them, WGC apart, so neighbouring lanes read
  // neighbouring Chunks.
  var cols = array<u32, CPL>();
  var has = array<bool, CPL>();
  for (var q = 0u; q < CPL; q++) {
    cols[q] = (cg * CPL + q) * WGC + lane;
    has[q] = cols[q] < p.nc;
  }

  // Per (episode, column): pre and x, and the column sums. Loops run to the constants EB and CPL
  // (and skip episodes past B) so that they unroll and these arrays live in registers.
  var pre_c = array<Chunk, EB * CPL>();
  var x_c = array<Chunk, EB * CPL>();
  var dx_acc = array<Chunk, EB * CPL>();
  var dpre_acc = array<Chunk, EB * CPL>();
  for (var e = 0u; e < EB; e++) {
    let b = eb * EB + e;
    for (var q = 0u; q < CPL; q++) {
      if (has[q] && b < p.batch) {
        pre_c[e * CPL + q] = pre[b * p.nc + cols[q]];
        x_c[e * CPL + q] = x[b * p.nc + cols[q]];
      }
    }
  }

  for (var i = 0u; i < p.n; i++) {
    // w and α of these connections, loaded once for all EB episodes.
    var w_ic = array<Chunk, CPL>();
    var alpha_ic = array<Chunk, CPL>();
    var dalpha_acc = array<Chunk, CPL>();
    var dw_acc = array<Chunk, CPL>();
    for (var q = 0u; q < CPL; q++) {
      if (has[q]) {
        w_ic[q] = w[i * p.nc + cols[q]];
        if (ALPHA_FULL) {
          alpha_ic[q] = alpha[i * p.nc + cols[q]];
        }
      }
    }
    for (var e = 0u; e < EB; e++) {
      let b = eb * EB + e;
      if (b >= p.batch) {
        continue; // uniform: store_shares may need every lane
      }
      let row = b * p.n + i;
      let c0 = coef[2u * row]; // (dz, m, m·post_i, ·): the same for every lane
      let c1 = coef[2u * row + 1u]; // (k, α_i, η, post_i)
      let dz = c0.x;
      let m = c0.y;
      // The rule's row factor, here rather than from the prep pass: with RULE a constant it folds
      // to 1 for hebbian and retroactive (with S4 skipped below, the backward took 0.93x and 0.97x
      // the time against a factor read from coef, bench/plastic_time.ts builds alternated 6 times).
      let a_row = row_decay(RULE, m, c1.w);
      var shares = vec4<f32>(0.0);
      for (var q = 0u; q < CPL; q++) {
        if (!has[q]) {
          continue;
        }
        let a = e * CPL + q;
        let k = row * p.nc + cols[q];
        var alpha_ij = Chunk(c1.y);
        if (ALPHA_FULL) {
          alpha_ij = alpha_ic[q];
        }
        let h_old = hebb[k];
        var e_old = Chunk(0.0);
        var d = c0.z * pre_c[a];
        if (retro) {
          e_old = elig[k];
          d = m * e_old;
        }
        let upd = trace_update(h_old, d, a_row, soft_k, p.clip);
        var g = alpha_ij * (dz * x_c[a]);
        if (TRACE_GRADS) {
          g += dhebb[k];
        }
        dhebb_out[k] = g * upd.dh;
        let gd = g * upd.dd;
        var u = gd;
        var s2 = g * h_old;
        var de = Chunk(0.0);
        if (retro) {
          if (TRACE_GRADS) {
            de = delig[k];
          }
          delig_out[k] = gd * m + (1.0 - c1.z) * de;
          u = de;
          s2 = gd * e_old;
        }
        var s4 = 0.0;
        if (!ALPHA_FULL) {
          s4 = hsum(upd.h * x_c[a]);
        }
        shares += vec4<f32>(hsum(u * pre_c[a]), hsum(s2), hsum(de * e_old), s4);
        dx_acc[a] += (w_ic[q] + alpha_ij * upd.h) * dz;
        dpre_acc[a] += u * c1.x;
        dalpha_acc[q] += dz * upd.h * x_c[a];
        if (WITH_DW == 1u) {
          dw_acc[q] += dz * x_c[a];
        }
      }
      store_shares(row, cg, lane, shares);
    }
    // This block's partials: dalpha in part 0 if alpha is full, then dw if WITH_DW.
    let part = (eb * (u32(ALPHA_FULL) + WITH_DW) * p.n + i) * p.nc;
    for (var q = 0u; q < CPL; q++) {
      if (has[q]) {
        if (ALPHA_FULL) {
          grad_part[part + cols[q]] = dalpha_acc[q];
        }
        if (WITH_DW == 1u) {
          grad_part[part + u32(ALPHA_FULL) * p.n * p.nc + cols[q]] = dw_acc[q];
        }
      }
    }
  }

  for (var e = 0u; e < EB; e++) {
    let b = eb * EB + e;
    for (var q = 0u; q < CPL; q++) {
      if (has[q] && b < p.batch) {
        dx[b * p.nc + cols[q]] = dx_acc[e * CPL + q];
        dpre[b * p.nc + cols[q]] = dpre_acc[e * CPL + q];
      }
    }
  }
}
