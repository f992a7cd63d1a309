// copy.wgsl: dst[i] = src[i], the plain copy that sets the benchmarks' bandwidth floor.
// Shapes: src and dst flat; n4 = ceil(n/4) vec4s are copied (pooled buffers are padded to 256 bytes).
// Bindings: group 0: 0 src (vec4, read), 1 dst (vec4, read_write). Group 1: 0 p.
// Grid: ceil(n4 / VEC4S_PER_THREAD) threads, each copying vec4s a grid-stride apart; 2-D grid.

struct Params {
  n4: u32,
}

@group(0) @binding(0) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
    let i = t + k * thread_count(nwg);
    if (i >= p.n4) {
      return;
    }
    dst[i] = src[i];
  }
}
