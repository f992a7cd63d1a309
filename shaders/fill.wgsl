// fill.wgsl: out[i] = value.
// Shapes: out is flat; the n4 = ceil(n/4) vec4s covering the first n elements are all written
// (pooled buffers are padded to 256 bytes, so the last vec4 is in bounds).
// Bindings: group 0: 0 out (vec4, read_write). Group 1: 0 p.
// Grid: ceil(n4 / VEC4S_PER_THREAD) threads, each writing vec4s a grid-stride apart; 2-D grid.

struct Params {
  n4: u32,
  value: f32,
}

@group(0) @binding(0) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
    let i = t + k * thread_count(nwg);
    if (i >= p.n4) {
      return;
    }
    out[i] = vec4<f32>(p.value);
  }
}
