// modulator_bwd_rows.wgsl: the per-row half of the modulator's backward (modulator.wgsl) on a device
// that binds only 8 storage buffers per stage (else modulator_bwd.wgsl does it all in one dispatch):
//   dm_r = dm[r] + Σ_q deta[r, q]·fw[q];   dpre[r] = dm_r·(1 − m[r]²);   dh[r, j] = dpre[r]·w[j]
// modulator_bwd_cols.wgsl then sums over the rows for the parameters.
// Shapes: modulator_common.wgsl. Bindings: group 0: 0 w, 1 fw, 2 m, 3 dm, 4 deta (read; fw is a
// placeholder without has_fan, deta without has_deta, dm without has_dm); 5 dpre, 6 dh (read_write).
// Group 1: 0 p.
// Grid: one thread per row (rows threads, 2-D grid of WG-thread workgroups; see modulator.wgsl).

@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read> fw: array<f32>;
@group(0) @binding(2) var<storage, read> m: array<f32>;
@group(0) @binding(3) var<storage, read> dm: array<f32>;
@group(0) @binding(4) var<storage, read> deta: array<f32>;
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(6) var<storage, read_write> dh: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = thread_index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  var g = 0.0;
  if (p.has_deta == 1u) {
    for (var q = 0u; q < p.k; q++) {
      g += deta[r * p.k + q] * fw[q];
    }
  }
  if (p.has_dm == 1u) {
    g += dm[r];
  }
  let mr = m[r];
  let dp = g * (1.0 - mr * mr);
  dpre[r] = dp;
  for (var j = 0u; j < p.n; j++) {
    dh[r * p.n + j] = dp * w[j];
  }
}
