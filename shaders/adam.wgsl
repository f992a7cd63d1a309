// adam.wgsl: one in-place step of torch.optim.Adam (L2 weight decay added to the gradient):
//   g = grad + weight_decay·param
//   m = beta1·m + (1 − beta1)·g
//   v = beta2·v + (1 − beta2)·g²
//   param -= lr·(m / bias1) / (sqrt(v / bias2) + eps),  bias1 = 1 − beta1^t, bias2 = 1 − beta2^t
// (the bias corrections are computed on the host in f64).
// Shapes: grad, param, m, v flat, n elements. These buffers belong to the caller and may be longer
// than n, so the last, partial vec4 keeps its elements past n unchanged.
// Bindings: group 0: 0 grad (vec4, read), 1 param, 2 m, 3 v (vec4, read_write). Group 1: 0 p.
// Grid: one thread per vec4 (ceil(n/4) threads), 2-D grid of WG-thread workgroups.

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bias1: f32,
  bias2: f32,
}

@group(0) @binding(0) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, nwg);
  if (4u * i >= p.n) {
    return;
  }
  let live = 4u * i + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.n);
  let w = param[i];
  let g = grad[i] + p.weight_decay * w;
  let m1 = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let v1 = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  let w1 = w - p.lr * (m1 / p.bias1) / (sqrt(v1 / p.bias2) + p.eps);
  m[i] = select(m[i], m1, live);
  v[i] = select(v[i], v1, live);
  param[i] = select(w, w1, live);
}
