// modulator_col_grad.wgsl: output column t of the modulator's parameter gradients, sums over the
// rows of dpre (modulator_row_grad.wgsl), for modulator_bwd.wgsl and modulator_bwd_cols.wgsl
// (appended to each, which declare the bindings): t < n is dw[t] = Σ_r dpre[r]·h[r, t], t = n is
// db = Σ_r dpre[r], n < t ≤ n + k is q = t − n − 1 of dfw[q] = Σ_r deta[r, q]·m[r] and
// dfb[q] = Σ_r deta[r, q] (columns = n + 1, and k more with has_fan).

fn columns() -> u32 {
  return p.n + 1u + select(0u, p.k, p.has_fan == 1u);
}

fn column_grad(t: u32) {
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
  } else if (t < columns()) {
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
