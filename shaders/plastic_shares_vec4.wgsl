// plastic_shares_vec4.wgsl: how plastic_step_bwd.wgsl stores a lane's shares of the row sums
// (S1, S2, S3, S4) for every rule but hebbian on a device without subgroups: one vec4 per
// (row, lane), so ns = 4. One vec4 store cost less than three float stores on lavapipe
// (retroactive). plastic.ts appends this file, plastic_shares_f32.wgsl or
// plastic_shares_subgroup.wgsl to the kernel. Every lane calls store_shares (lanes past the last
// Chunk with zeros, which the finish pass adds too).

@group(0) @binding(14) var<storage, read_write> row_part: array<vec4<f32>>;

fn store_shares(row: u32, cg: u32, lane: u32, s: vec4<f32>) {
  row_part[(row * p.col_groups + cg) * WGC + lane] = s;
}
