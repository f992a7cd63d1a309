// lstm_cell.wgsl: the LSTM state update from the gate pre-activations, in one pass (PAPER.md §2.3):
//   i, f, o = σ(gates[b, j]), σ(gates[b, n + j]), σ(gates[b, 2n + j])
//   g       = tanh(gates[b, 3n + j]), or the given cell input g[b, j] (has_g: the plastic LSTM's c̃)
//   c = f·c_prev + i·g;   h = o·tanh(c)
// Composed of primitive ops this was about a dozen dispatches a step and more in the backward.
// Shapes and inputs: lstm_common.wgsl; h, c [B, n]. Bindings: group 0: 0-2 the inputs
// (lstm_common.wgsl); 3 h, 4 c (read_write). Group 1: 0 p.
// Grid: one thread per (b, j) (B·n threads), 2-D grid of WG-thread workgroups.

@group(0) @binding(3) var<storage, read_write> h: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.batch * p.n) {
    return;
  }
  let cell = lstm_cell(t);
  c[t] = cell.c;
  h[t] = cell.o * stable_tanh(vec4<f32>(cell.c)).x;
}
