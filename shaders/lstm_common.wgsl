// lstm_common.wgsl: the parameters, the inputs, and the gates and new cell state of LSTM unit
// t = b·n + j, shared by lstm_cell.wgsl and lstm_cell_bwd.wgsl (appended to each).
// Shapes: gates [B, width] (width = 4n, or 3n with has_g: g given); g, c_prev [B, n].
// Bindings: group 0: 0 gates, 1 g_in (a placeholder unless has_g), 2 c_prev (read); the kernels
// bind their own from 3. Group 1: 0 p.

struct Params {
  batch: u32,
  n: u32,
  width: u32,
  has_g: u32,
  has_dh: u32, // the backward's: dh and dc given (else zero)
  has_dc: u32,
}

@group(0) @binding(0) var<storage, read> gates: array<f32>;
@group(0) @binding(1) var<storage, read> g_in: array<f32>;
@group(0) @binding(2) var<storage, read> c_prev: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

struct Cell {
  i: f32,
  f: f32,
  o: f32,
  g: f32,
  cp: f32, // c_prev
  c: f32,
}

fn lstm_cell(t: u32) -> Cell {
  let row = (t / p.n) * p.width + t % p.n;
  let s = stable_sigmoid(vec4<f32>(gates[row], gates[row + p.n], gates[row + 2u * p.n], 0.0));
  var g = 0.0;
  if (p.has_g == 1u) {
    g = g_in[t];
  } else {
    g = stable_tanh(vec4<f32>(gates[row + 3u * p.n])).x;
  }
  let cp = c_prev[t];
  return Cell(s.x, s.y, s.z, g, cp, s.y * cp + s.x * g);
}
