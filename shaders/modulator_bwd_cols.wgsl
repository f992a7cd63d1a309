// modulator_bwd_cols.wgsl: the second of the modulator's two backward passes (see
// modulator_bwd_rows.wgsl): every output column of the parameter gradients (modulator_col_grad.wgsl).
// Shapes: modulator_common.wgsl. Bindings: group 0: 0 h, 1 m, 2 dpre, 3 deta (read; deta a
// placeholder without has_deta); 4 dw, 5 db, 6 dfw, 7 dfb (read_write; dfw and dfb placeholders
// without has_fan). Group 1: 0 p.
// Grid: one thread per output column (n + 1 + k threads with has_fan, else n + 1); 2-D grid of
// WG-thread workgroups.

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
  column_grad(thread_index(gid, nwg));
}
