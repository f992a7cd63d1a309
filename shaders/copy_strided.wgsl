// copy_strided.wgsl: dst[dst_offset + idx·dst_strides] = src[src_offset + idx·src_strides] for
// every index idx of `shape` (rank ≤ 8 after the host merges dimensions).
// Each thread copies up to 4 consecutive elements along the last dimension, so the div/mod chain
// that locates its row is paid once per 4 elements: integer division is scalarised on CPU SIMD
// (lavapipe), and per element it made this kernel several times slower than a plain copy.
// Shapes: src and dst flat f32 buffers; strides in elements, may be negative; the host checks that
// every offset lies inside its buffer. row_len = shape[rank − 1], row_quads = ceil(row_len / 4).
// Bindings: group 0: 0 src (read), 1 dst (read_write). Group 1: 0 p.
// Grid: one thread per 4 elements of a row (rows·row_quads threads, rows = n / row_len),
// 2-D grid of WG-thread workgroups.

struct Params {
  threads: u32,
  rank: u32,
  row_len: u32,
  row_quads: u32,
  src_offset: i32,
  dst_offset: i32,
  shape: array<vec4<u32>, 2>,
  src_strides: array<vec4<i32>, 2>,
  dst_strides: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.threads) {
    return;
  }
  let last = p.rank - 1u;
  let step = vec2<i32>(p.src_strides[last / 4u][last % 4u], p.dst_strides[last / 4u][last % 4u]);
  var rest = t / p.row_quads;
  let start = 4u * (t - rest * p.row_quads);
  var offset = vec2<i32>(p.src_offset, p.dst_offset) + i32(start) * step;
  // The row's coordinates, with one division per dimension but the first.
  for (var d = i32(last) - 1; d > 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let q = rest / size;
    offset += i32(rest - q * size) * vec2<i32>(p.src_strides[d / 4][d % 4], p.dst_strides[d / 4][d % 4]);
    rest = q;
  }
  offset += i32(rest) * vec2<i32>(p.src_strides[0].x, p.dst_strides[0].x);
  for (var j = start; j < min(start + 4u, p.row_len); j++) {
    dst[offset.y] = src[offset.x];
    offset += step;
  }
}
