// matmul_vec4.wgsl: the fast batched matmul for row-major operands whose rows are whole vec4s:
//   C[b] = op(A[b])·op(B[b]) with mode NN (A [m,k], B [k,n]), NT (B stored [n,k]) or TN (A stored
//   [k,m]); the host requires n and the batch strides to be multiples of 4, and k for NN and NT (which
//   read rows along k), m for TN (which reads them along m and n, so that any k will do).
// Each thread computes a 4×4 block of C in registers from vec4 loads: per 4 steps of k it loads a
// 4×4 block of A and one of B (8 vec4s) and does 64 multiply-adds. On lavapipe vec4 loads are
// 2.5-3x cheaper than scalar ones, and shared-memory tiling with barriers is slower, so neither
// workgroup memory nor barriers are used.
// The blocks live in mat4x4 values whose columns are rows of the block, i.e. the transposes
// Aᵀ, Bᵀ, Cᵀ; then Cᵀ += Bᵀ·Aᵀ. A transposed operand loads its block's columns, hence transpose().
// Rows past m are clamped on load and skipped on store. With has_bias, bias[j] is added to every
// row (the fused Linear: one dispatch instead of a matmul and an add), and with tanh_out the block
// goes through tanh before it is stored (a Linear and its tanh in one dispatch).
// Shapes: C [batch, m, n] contiguous. a_batch or b_batch = 0 broadcasts one matrix to every batch.
// Bindings: group 0: 0 a, 1 b, 2 bias [n] (vec4, read; a placeholder without has_bias), 3 c (vec4,
// read_write). Group 1: 0 p.
// Grid: one thread per 4×4 block (batch·row_blocks·n4 threads), column block fastest,
// 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  m: u32,
  k: u32,
  n: u32,
  row_blocks: u32,
  mode: u32, // 0 NN, 1 NT, 2 TN
  a_batch: u32, // elements
  b_batch: u32,
  has_bias: u32,
  tanh_out: u32, // 1: C = tanh(A·B + bias), a Linear with its tanh in one pass
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> c: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  let n4 = p.n / 4u;
  let k4 = p.k / 4u;
  let j4 = t % n4;
  let row_block = (t / n4) % p.row_blocks;
  let batch = t / (n4 * p.row_blocks);
  if (batch >= p.batch) {
    return;
  }
  let a0 = batch * p.a_batch / 4u;
  let b0 = batch * p.b_batch / 4u;
  var acc = mat4x4<f32>(); // acc[r] = row 4·row_block + r of C's block
  if (p.has_bias == 1u) {
    let bv = bias[j4];
    acc = mat4x4<f32>(bv, bv, bv, bv);
  }
  if (p.mode == 2u) {
    // TN: A is stored [k, m]; m4 = row_blocks, and rows 4·row_block.. are one vec4 of each A row.
    for (var kk = 0u; kk < k4; kk++) {
      let ka = a0 + 4u * kk * p.row_blocks + row_block;
      let a_cols = mat4x4<f32>(a[ka], a[ka + p.row_blocks], a[ka + 2u * p.row_blocks], a[ka + 3u * p.row_blocks]);
      let kb = b0 + 4u * kk * n4 + j4;
      let b_t = mat4x4<f32>(b[kb], b[kb + n4], b[kb + 2u * n4], b[kb + 3u * n4]);
      acc += b_t * transpose(a_cols);
    }
    // The last k % 4 rows of both, one at a time (k is the summed dimension, often a batch size).
    for (var kk = 4u * k4; kk < p.k; kk++) {
      let a_k = a[a0 + kk * p.row_blocks + row_block];
      let b_k = b[b0 + kk * n4 + j4];
      acc += mat4x4<f32>(a_k.x * b_k, a_k.y * b_k, a_k.z * b_k, a_k.w * b_k);
    }
  } else {
    let rows = min(4u * row_block + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.m - 1u));
    let a_rows = a0 + rows * k4;
    if (p.mode == 0u) {
      for (var kk = 0u; kk < k4; kk++) {
        let a_t = mat4x4<f32>(a[a_rows.x + kk], a[a_rows.y + kk], a[a_rows.z + kk], a[a_rows.w + kk]);
        let kb = b0 + 4u * kk * n4 + j4;
        let b_t = mat4x4<f32>(b[kb], b[kb + n4], b[kb + 2u * n4], b[kb + 3u * n4]);
        acc += b_t * a_t;
      }
    } else {
      // NT: B is stored [n, k]; columns 4·j4.. of B are rows of the stored matrix.
      let b_cols = b0 + (4u * j4 + vec4<u32>(0u, 1u, 2u, 3u)) * k4;
      for (var kk = 0u; kk < k4; kk++) {
        let a_t = mat4x4<f32>(a[a_rows.x + kk], a[a_rows.y + kk], a[a_rows.z + kk], a[a_rows.w + kk]);
        let b_block = mat4x4<f32>(b[b_cols.x + kk], b[b_cols.y + kk], b[b_cols.z + kk], b[b_cols.w + kk]);
        acc += transpose(b_block) * a_t;
      }
    }
  }
  if (p.tanh_out == 1u) {
    acc = mat4x4<f32>(stable_tanh(acc[0]), stable_tanh(acc[1]), stable_tanh(acc[2]), stable_tanh(acc[3]));
  }
  let c0 = batch * p.m * n4 + j4;
  for (var r = 0u; r < 4u; r++) {
    let i = 4u * row_block + r;
    if (i < p.m) {
      c[c0 + i * n4] = acc[r];
    }
  }
}
