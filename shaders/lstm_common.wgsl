// lstm_common.wgsl: the gates and new cell state of LSTM unit t = b·n + j, shared by lstm_cell.wgsl
// and lstm_cell_bwd.wgsl (appended to each; they declare gates, g_in, c_prev and Params).

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
