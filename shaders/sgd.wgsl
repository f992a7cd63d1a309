// sgd.wgsl: one in-place step of torch.optim.SGD (dampening 0, L2 weight decay):
//   g = grad + weight_decay·param
//   with momentum: mom = first_step ? g : momentum·mom + g;  g = mom
//   param -= lr·g
// Without momentum the mom binding holds a placeholder buffer that is never touched.
// Shapes: grad, param, mom flat, n elements. These buffers belong to the caller and may be longer
// than n, so the last, partial vec4 keeps its elements past n unchanged.
// Bindings: group 0: 0 grad (vec4, read), 1 param, 2 mom (vec4, read_write). Group 1: 0 p.
// Grid: one thread per vec4 (ceil(n/4) threads), 2-D grid of WG-thread workgroups.

struct Params {
  n: u32,
  lr: f32,
  momentum: f32,
  weight_decay: f32,
  use_momentum: u32,
  first_step: u32,
}

@group(0) @binding(0) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> mom: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, nwg);
  if (4u * i >= p.n) {
    return;
  }
  let live = 4u * i + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(p.n);
  let w = param[i];
  var g = grad[i] + p.weight_decay * w;
  if (p.use_momentum != 0u) {
    let buf = select(p.momentum * mom[i] + g, g, p.first_step != 0u);
    mom[i] = select(mom[i], buf, live);
    g = buf;
  }
  param[i] = select(w, w - p.lr * g, live);
}
