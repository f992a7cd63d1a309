// row_logsumexp.wgsl: appended (webgpu_backend.ts) to softmax, cross_entropy and
// cross_entropy_bwd, which each declare `x: array<f32>` viewed as [rows, cols] and Params.cols.
// The stable log-sum-exp parts of the row starting at `base`: mx = max_c x[base + c] and
// s = Σ_c exp(x[base + c] − mx) ≥ 1, so nothing overflows; logsumexp = mx + log(s).
fn row_max_sum(base: u32) -> vec2<f32> {
  var mx = x[base];
  for (var c = 1u; c < p.cols; c++) {
    mx = max(mx, x[base + c]);
  }
  var s = 0.0;
  for (var c = 0u; c < p.cols; c++) {
    s += exp(x[base + c] - mx);
  }
  return vec2<f32>(mx, s);
}
