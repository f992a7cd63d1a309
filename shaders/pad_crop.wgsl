// pad_crop.wgsl: a batch of matrices copied into a contiguous batch of another size, cropped where
// the destination is smaller and zero where it is larger:
//   dst[b, r, j] = src[b·src_batch + r·src_row + j]   where r < rows and j < cols,
//                  0                                  elsewhere,
// for dst [batch, dst_rows, dst_cols]. The matmul pads its operands to whole vec4s with it and crops
// its padded result back. Each thread writes one vec4 of dst from four float loads: 5 accesses per
// 4 floats, where a fill and copy_strided made 9, and lavapipe prices accesses (chunk_vec4.wgsl).
// Shapes: src flat f32; dst flat, n = batch·dst_rows·dst_cols elements; the last vec4 may run past n
// (pooled buffers are padded to 256 bytes) and gets zeros there.
// Bindings: group 0: 0 src (read), 1 dst (vec4, read_write). Group 1: 0 p.
// Grid: one thread per vec4 of dst (n4 = ceil(n / 4) threads), 2-D grid of WG-thread workgroups.

struct Params {
  n: u32,
  n4: u32,
  dst_rows: u32,
  dst_cols: u32,
  rows: u32,
  cols: u32,
  src_batch: u32,
  src_row: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.n4) {
    return;
  }
  // The first element's coordinates (two divisions per thread), then a step along the row for each
  // of the others, wrapping to the next row and matrix.
  let f = 4u * t;
  let m = f / p.dst_cols;
  var j = f - m * p.dst_cols;
  var b = m / p.dst_rows;
  var r = m - b * p.dst_rows;
  var v = vec4<f32>(0.0);
  for (var k = 0u; k < 4u; k++) {
    if (f + k < p.n && r < p.rows && j < p.cols) {
      v[k] = src[b * p.src_batch + r * p.src_row + j];
    }
    j++;
    if (j == p.dst_cols) {
      j = 0u;
      r++;
      if (r == p.dst_rows) {
        r = 0u;
        b++;
      }
    }
  }
  dst[t] = v;
}
