// plastic_shares_subgroup.wgsl: the shares of the row sums (S1, S2, S3, S4) of plastic_step_bwd.wgsl
// added up across the workgroup's WGC lanes by subgroupAdd, which needs the whole workgroup in one
// subgroup (SUBGROUP_MIN_SIZE in device.ts), and stored by lane 0: one vec4 per (row, column
// group), so ns = 4 for every rule. WGC times fewer shares than one per Chunk, so the finish pass
// reads that much less: at B = 30, N = 200 (retroactive) the shares were as large as a trace.
// Called by every lane, in uniform control flow.

@group(0) @binding(14) var<storage, read_write> row_part: array<vec4<f32>>;

fn store_shares(row: u32, cg: u32, lane: u32, s: vec4<f32>) {
  var total: vec4<f32>;
  if (RULE == HEBBIAN && ALPHA_FULL) {
    total = vec4<f32>(subgroupAdd(s.x), 0.0, 0.0, 0.0); // hebbian needs S1, and S4 for a per-row alpha
  } else if (RULE == HEBBIAN) {
    let t = subgroupAdd(s.xw);
    total = vec4<f32>(t.x, 0.0, 0.0, t.y);
  } else if (ALPHA_FULL) {
    total = vec4<f32>(subgroupAdd(s.xyz), 0.0);
  } else {
    total = subgroupAdd(s);
  }
  if (lane == 0u) {
    row_part[row * p.col_groups + cg] = total;
  }
}
