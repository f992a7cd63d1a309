// modulator_row_grad.wgsl: row r of the modulator's backward (modulator.wgsl), for
// modulator_bwd.wgsl and modulator_bwd_rows.wgsl (appended to each, which declare the bindings):
//   dm_r = dm[r] + Σ_q deta[r, q]·fw[q];   dpre[r] = dm_r·(1 − m[r]²);   dh[r, j] = dpre[r]·w[j]

fn row_grad(r: u32) {
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
