// lstm_cell_bwd.wgsl: the backward of lstm_cell.wgsl, recomputing the gates from their
// pre-activations:
//   dc_total = dc + dh·o·(1 − tanh²c)
//   d(i, f, o) pre-activations = (dc_total·g, dc_total·c_prev, dh·tanh c) ⊙ s(1 − s) of each gate
//   dg = dc_total·i, and d(g's pre-activation) = dg·(1 − g²) when g = tanh(gates[b, 3n + j])
//   dc_prev = dc_total·f
// Shapes and inputs: lstm_common.wgsl; dgates [B, width]; dh, dc, dg, dc_prev [B, n].
// Bindings: group 0: 0-2 the inputs (lstm_common.wgsl); 3 dh, 4 dc (read; placeholders unless
// has_dh, has_dc); 5 dgates, 6 dg (a placeholder unless has_g), 7 dc_prev (read_write). Group 1: 0 p.
// Grid: one thread per (b, j) (B·n threads), 2-D grid of WG-thread workgroups.

@group(0) @binding(3) var<storage, read> dh: array<f32>;
@group(0) @binding(4) var<storage, read> dc: array<f32>;
@group(0) @binding(5) var<storage, read_write> dgates: array<f32>;
@group(0) @binding(6) var<storage, read_write> dg: array<f32>;
@group(0) @binding(7) var<storage, read_write> dc_prev: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.batch * p.n) {
    return;
  }
  let cell = lstm_cell(t);
  let tc = stable_tanh(vec4<f32>(cell.c)).x;
  var dh_t = 0.0;
  if (p.has_dh == 1u) {
    dh_t = dh[t];
  }
  var dct = dh_t * cell.o * (1.0 - tc * tc);
  if (p.has_dc == 1u) {
    dct += dc[t];
  }
  let row = (t / p.n) * p.width + t % p.n;
  dgates[row] = dct * cell.g * cell.i * (1.0 - cell.i);
  dgates[row + p.n] = dct * cell.cp * cell.f * (1.0 - cell.f);
  dgates[row + 2u * p.n] = dh_t * tc * cell.o * (1.0 - cell.o);
  let dgt = dct * cell.i;
  if (p.has_g == 1u) {
    dg[t] = dgt;
  } else {
    dgates[row + 3u * p.n] = dgt * (1.0 - cell.g * cell.g);
  }
  dc_prev[t] = dct * cell.f;
}
