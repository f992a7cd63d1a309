// where.wgsl: out[i] = cond[ic] != 0 ? a[ia] : b[ib].
// Modes, chosen on the host:
//   0 SAME:      cond, a, b and out have the same shape: ic = ia = ib = i, whole vec4s.
//   1 BROADCAST: out is `shape` (rank ≤ 8 after the host merges dimensions); ic, ia, ib are i's
//                coordinates dotted with each operand's strides (0 along broadcast dimensions).
// Shapes: flat row-major buffers; ceil(n/4) vec4s of out are written (pooled buffers are padded to
// 256 bytes). In BROADCAST mode lanes past n read element n − 1, so every read stays in bounds.
// Bindings: group 0: 0 cond, 1 a, 2 b (vec4, read), 3 out (vec4, read_write). Group 1: 0 p.
// Grid: one thread per vec4 of out (ceil(n/4) threads), 2-D grid of WG-thread workgroups.

struct Params {
  n: u32,
  mode: u32,
  rank: u32,
  shape: array<vec4<u32>, 2>,
  cond_strides: array<vec4<i32>, 2>,
  a_strides: array<vec4<i32>, 2>,
  b_strides: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<storage, read> cond: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

fn strides(d: u32) -> vec3<i32> {
  return vec3<i32>(p.cond_strides[d / 4u][d % 4u], p.a_strides[d / 4u][d % 4u], p.b_strides[d / 4u][d % 4u]);
}

// Offsets into cond, a and b of out's element e (< n): e's coordinates dotted with each operand's
// strides, with one division per dimension but the first (division is scalarised on CPU SIMD).
fn offsets(e: u32) -> vec3<u32> {
  var rest = e;
  var offset = vec3<i32>(0);
  for (var d = i32(p.rank) - 1; d > 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let q = rest / size;
    offset += i32(rest - q * size) * strides(u32(d));
    rest = q;
  }
  return vec3<u32>(offset + i32(rest) * strides(0u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = thread_index(gid, nwg);
  if (4u * i >= p.n) {
    return;
  }
  if (p.mode == 0u) {
    out[i] = select(b[i], a[i], cond[i] != vec4<f32>(0.0));
    return;
  }
  var c: vec4<f32>;
  var x: vec4<f32>;
  var y: vec4<f32>;
  for (var j = 0u; j < 4u; j++) {
    let o = offsets(min(4u * i + j, p.n - 1u));
    c[j] = cond[o.x / 4u][o.x % 4u];
    x[j] = a[o.y / 4u][o.y % 4u];
    y[j] = b[o.z / 4u][o.z % 4u];
  }
  out[i] = select(y, x, c != vec4<f32>(0.0));
}
