// modulator_bwd.wgsl: the backward of modulator.wgsl in one workgroup and one dispatch: every row
// (modulator_row_grad.wgsl), then every output column (modulator_col_grad.wgsl). The column sums
// need every row's dpre, so the rows come first and a barrier separates the two:
// one workgroup holds the whole op. These are small (rows = a batch, n and k a hidden size), and a
// dispatch costs tens of µs on lavapipe, more than the work.
// Shapes: modulator_common.wgsl; dpre [rows] is scratch. Bindings: group 0: 0 h, 1 w, 2 fw, 3 m,
// 4 dm, 5 deta (read; fw is a placeholder without has_fan, deta without has_deta, dm without
// has_dm); 6 dpre, 7 dh, 8 dw, 9 db, 10 dfw, 11 dfb (read_write; dfw and dfb placeholders without
// has_fan). Group 1: 0 p.
// Grid: one workgroup; thread l takes rows l, l + WG, ..., then output columns l, l + WG, ....

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> fw: array<f32>;
@group(0) @binding(3) var<storage, read> m: array<f32>;
@group(0) @binding(4) var<storage, read> dm: array<f32>;
@group(0) @binding(5) var<storage, read> deta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(7) var<storage, read_write> dh: array<f32>;
@group(0) @binding(8) var<storage, read_write> dw: array<f32>;
@group(0) @binding(9) var<storage, read_write> db: array<f32>;
@group(0) @binding(10) var<storage, read_write> dfw: array<f32>;
@group(0) @binding(11) var<storage, read_write> dfb: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  for (var r = lid; r < p.rows; r += WG) {
    row_grad(r);
  }
  storageBarrier(); // every dpre written above is visible to the whole workgroup below
  workgroupBarrier();
  for (var t = lid; t < columns(); t += WG) {
    column_grad(t);
  }
}
