// dropout.wgsl: inverted dropout, out[i] = keep(i) ? x[i]·scale : 0 with
// keep(i) = hash_uniform(seed, i) >= threshold and scale = 1/(1 − p).
// The mask is a pure function of (seed, i), identical to src/kernels/hash.ts, so the backward
// (the same kernel applied to dy) regenerates it. threshold is p rounded up on the host to the
// 2^-24 grid of hash_uniform's values, so the f32 comparison decides exactly as the CPU's f64 one.
// Shapes: x, out flat; n4 = ceil(n/4) vec4s are written (pooled buffers are padded to 256 bytes).
// Bindings: group 0: 0 x (vec4, read), 1 out (vec4, read_write). Group 1: 0 p.
// Grid: one thread per vec4 (n4 threads), 2-D grid of WG-thread workgroups.

struct Params {
  n4: u32,
  seed: u32,
  threshold: f32,
  scale: f32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, nwg);
  if (i >= p.n4) {
    return;
  }
  let e = 4u * i;
  let u = vec4<f32>(hash_uniform(p.seed, e), hash_uniform(p.seed, e + 1u),
                    hash_uniform(p.seed, e + 2u), hash_uniform(p.seed, e + 3u));
  out[i] = select(vec4<f32>(0.0), x[i] * p.scale, u >= vec4<f32>(p.threshold));
}
