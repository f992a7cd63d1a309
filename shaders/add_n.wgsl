// add_n.wgsl: out[i] = Σ_{k < count} x_k[i], 2 ≤ count ≤ 7 (ADD_N_MAX in backend.ts: WebGPU's
// default limit of 8 storage buffers per shader stage, the output included). The backward sums
// every gradient a tensor receives with it: a parameter used at each of T steps costs about T/6
// dispatches instead of the T − 1 of pairwise adds.
// Shapes: flat, n elements each; ceil(n/4) vec4s of out are written (pooled buffers are padded to
// 256 bytes).
// Bindings: group 0: 0-6 x0-x6 (vec4, read; those from count on are placeholders, never read),
// 7 out (vec4, read_write). Group 1: 0 p.
// Grid: ceil(n4 / VEC4S_PER_THREAD) threads, each summing vec4s a grid-stride apart; 2-D grid.

struct Params {
  n4: u32,
  count: u32,
}

@group(0) @binding(0) var<storage, read> x0: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> x1: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x2: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> x3: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> x5: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> x6: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  let stride = thread_count(nwg);
  for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
    let i = t + k * stride;
    if (i >= p.n4) {
      return;
    }
    // Branches on the uniform count: the loads past it are skipped for the whole dispatch.
    var s = x0[i] + x1[i];
    if (p.count > 2u) {
      s += x2[i];
    }
    if (p.count > 3u) {
      s += x3[i];
    }
    if (p.count > 4u) {
      s += x4[i];
    }
    if (p.count > 5u) {
      s += x5[i];
    }
    if (p.count > 6u) {
      s += x6[i];
    }
    out[i] = s;
  }
}
