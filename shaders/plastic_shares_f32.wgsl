// plastic_shares_f32.wgsl: the hebbian rule's shares of the row sums on a device without subgroups
// (see plastic_shares_vec4.wgsl). Its gradients need only S1, and S4 unless alpha is full (ns = 1
// or 2), so they are stored as floats: the kernel's S2 and S3 then go unused and the compiler drops
// them. The hebbian backward ran about 1.1x faster on lavapipe than with a vec4 per share (B=30, N=200).

@group(0) @binding(14) var<storage, read_write> row_part: array<f32>;

fn store_shares(row: u32, cg: u32, lane: u32, s: vec4<f32>) {
  let slot = ((row * p.col_groups + cg) * WGC + lane) * p.ns;
  row_part[slot] = s.x;
  if (p.ns == 2u) {
    row_part[slot + 1u] = s.w;
  }
}
