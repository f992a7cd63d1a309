// modulator_bwd_cols.wgsl: the parameter gradients of the modulator (modulator.wgsl), sums over
// the rows of what modulator_bwd_rows.wgsl leaves (the second of its two passes, see there):
//   dw[j] = Σ_r dpre[r]·h[r, j];   db = Σ_r dpre[r];   dfw[q] = Σ_r deta[r, q]·m[r];   dfb[q] = Σ_r deta[r, q]
// Shapes: modulator_common.wgsl. Bindings: group 0: 0 h, 1 m, 2 dpre, 3 deta (read; deta a
// placeholder without has_deta); 4 dw, 5 db, 6 dfw, 7 dfb (read_write; dfw and dfb placeholders
// without has_fan). Group 1: 0 p.
// Grid: one thread per output column: t < n is dw[t], t = n is db, n < t ≤ n + k is q = t − n − 1
// of dfw and dfb (n + 1 + k threads with has_fan, else n + 1); 2-D grid of WG-thread workgroups.

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read> dpre: array<f32>;
@group(0) @binding(3) var<storage, read> deta: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;
@group(0) @binding(6) var<storage, read_write> dfw: array<f32>;
@group(0) @binding(7) var<storage, read_write> dfb: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t < p.n) {
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
      s += dpre[r] * h[r * p.n + t];
    }
    dw[t] = s;
  } else if (t == p.n) {
    var s = 0.0;
    for (var r = 0u; r < p.rows; r++) {
      s += dpre[r];
    }
    db[0] = s;
  } else if (p.has_fan == 1u && t <= p.n + p.k) {
    let q = t - p.n - 1u;
    var sw = 0.0;
    var sb = 0.0;
    if (p.has_deta == 1u) {
      for (var r = 0u; r < p.rows; r++) {
        let d = deta[r * p.k + q];
        sw += d * m[r];
        sb += d;
      }
    }
    dfw[q] = sw;
    dfb[q] = sb;
  }
}
