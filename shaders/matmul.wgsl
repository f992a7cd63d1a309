// matmul.wgsl: the general batched matmul, any transposes and strides:
//   C[b, i, j] = Σ_k A(b, i, k)·B(b, k, j),
//   A(b, i, k) = a[b·a_batch + i·a_si + k·a_sk],  B(b, k, j) = b[b·b_batch + k·b_sk + j·b_sj].
// Each thread computes a 4×4 block of C held in registers, so every loaded value is used 4 times.
// Rows and columns past m, n are clamped on load and skipped on store. With has_bias, bias[j] is
// added to every row (the fused Linear: one dispatch instead of a matmul and an add), and with
// tanh_out the block goes through tanh before it is stored (a Linear and its tanh in one dispatch).
// Shapes: C [batch, m, n] contiguous. a_batch or b_batch = 0 broadcasts one matrix to every batch.
// Bindings: group 0: 0 a, 1 b, 2 bias [n] (read; a placeholder without has_bias), 3 c (read_write).
// Group 1: 0 p.
// Grid: one thread per 4×4 block (batch·row_blocks·col_blocks threads), column block fastest,
// 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  m: u32,
  k: u32,
  n: u32,
  row_blocks: u32,
  col_blocks: u32,
  a_batch: u32,
  a_si: u32,
  a_sk: u32,
  b_batch: u32,
  b_sk: u32,
  b_sj: u32,
  has_bias: u32,
  tanh_out: u32, // 1: C = tanh(A·B + bias), a Linear with its tanh in one pass
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  let col_block = t % p.col_blocks;
  let row_block = (t / p.col_blocks) % p.row_blocks;
  let batch = t / (p.col_blocks * p.row_blocks);
  if (batch >= p.batch) {
    return;
  }
  let lane = vec4<u32>(0u, 1u, 2u, 3u);
  let a_rows = batch * p.a_batch + min(4u * row_block + lane, vec4<u32>(p.m - 1u)) * p.a_si;
  let b_cols = batch * p.b_batch + min(4u * col_block + lane, vec4<u32>(p.n - 1u)) * p.b_sj;
  // acc[r] holds row 4·row_block + r of the block.
  var acc = mat4x4<f32>();
  if (p.has_bias == 1u) {
    let cols = min(4u * col_block + lane, vec4<u32>(p.n - 1u));
    let bv = vec4<f32>(bias[cols.x], bias[cols.y], bias[cols.z], bias[cols.w]);
    acc = mat4x4<f32>(bv, bv, bv, bv);
  }
  for (var k = 0u; k < p.k; k++) {
    let ak = a_rows + k * p.a_sk;
    let bk = b_cols + k * p.b_sk;
    let av = vec4<f32>(a[ak.x], a[ak.y], a[ak.z], a[ak.w]);
    let bv = vec4<f32>(b[bk.x], b[bk.y], b[bk.z], b[bk.w]);
    acc[0] += av.x * bv;
    acc[1] += av.y * bv;
    acc[2] += av.z * bv;
    acc[3] += av.w * bv;
  }
  if (p.tanh_out == 1u) {
    acc = mat4x4<f32>(stable_tanh(acc[0]), stable_tanh(acc[1]), stable_tanh(acc[2]), stable_tanh(acc[3]));
  }
  for (var r = 0u; r < 4u; r++) {
    let i = 4u * row_block + r;
    for (var q = 0u; q < 4u; q++) {
      let j = 4u * col_block + q;
      if (i < p.m && j < p.n) {
        c[(batch * p.m + i) * p.n + j] = acc[r][q];
      }
    }
  }
}
