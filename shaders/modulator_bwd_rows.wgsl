// modulator_bwd_rows.wgsl: the first of the modulator's two backward passes on a device that binds
// only 8 storage buffers per stage (else modulator_bwd.wgsl does it all in one dispatch): every row
// (modulator_row_grad.wgsl); modulator_bwd_cols.wgsl then sums over the rows for the parameters.
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
  if (r < p.rows) {
    row_grad(r);
  }
}
