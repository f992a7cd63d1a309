// modulator.wgsl: the neuromodulator of the plastic networks (Backend.modulator; PAPER.md §1.6,
// §2.3: the authors' h2DA or h2mod, and modfanout), one dispatch instead of a matmul for m and one
// for its fan-out:
//   m[r] = tanh(Σ_j h[r, j]·w[j] + b),   eta[r, q] = m[r]·fw[q] + fb[q]   (with has_fan)
// Shapes: modulator_common.wgsl. Bindings: group 0: 0 h, 1 w, 2 b, 3 fw, 4 fb (read; fw and fb
// are placeholders without has_fan); 5 m, 6 eta (read_write; eta a placeholder without has_fan).
// Group 1: 0 p.
// Grid: one thread per row (rows threads, 2-D grid of WG-thread workgroups). A paper-size PTB step
// with this op ran 0.98-0.99x the time of the matmuls (retroactive; 0.975x neuromodulated), and
// with a workgroup per row, its threads splitting the row and adding up in workgroup memory (a
// barrier, costly on lavapipe), 1.006x: these rows are short.

@group(0) @binding(0) var<storage, read> h: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> fw: array<f32>;
@group(0) @binding(4) var<storage, read> fb: array<f32>;
@group(0) @binding(5) var<storage, read_write> m: array<f32>;
@group(0) @binding(6) var<storage, read_write> eta: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = thread_index(gid, nwg);
  if (r >= p.rows) {
    return;
  }
  var s = b[0];
  for (var j = 0u; j < p.n; j++) {
    s += h[r * p.n + j] * w[j];
  }
  let mr = stable_tanh(vec4<f32>(s)).x;
  m[r] = mr;
  if (p.has_fan == 1u) {
    for (var q = 0u; q < p.k; q++) {
      eta[r * p.k + q] = mr * fw[q] + fb[q];
    }
  }
}
