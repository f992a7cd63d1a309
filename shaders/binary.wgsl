// binary.wgsl: out[i] = op(a[ia], b[ib]) for the BinaryOp numbered OP (order of BINARY_OPS in
// webgpu_backend.ts), with scalar parameters p0, p1 (clamp_grad's bounds). OP is an override
// constant, one pipeline per op, as in unary.wgsl (a uniform switch on the op cost 1.5x there).
// Modes, chosen on the host:
//   0 SAME:      a, b and out have the same shape: ia = ib = i, whole vec4s.
//   1 A_SCALAR:  a holds one element, b has out's shape.
//   2 B_SCALAR:  b holds one element, a has out's shape.
//   3 ROWS:      broadcasting where out's last dimension (after the host merges dimensions) is a
//                multiple of 4 and each operand either runs along it (stride 1, rows starting on
//                a vec4) or repeats one value (stride 0): each thread finds its row's offsets once
//                and then reads one vec4 or one scalar per operand. Covers [B, N] + [N], [B, N] + [B, 1].
//   4 ELEMENTS:  any other broadcasting: out is `shape` (rank ≤ 8); ia, ib are each element's
//                coordinates dotted with a_strides, b_strides (0 along broadcast dimensions).
// Integer division is scalarised on CPU SIMD (lavapipe) and dominates the broadcasting modes, so
// they divide as little as possible: ROWS once per vec4 when out has two merged dimensions.
// Shapes: flat row-major buffers; ceil(n/4) vec4s of out are written (pooled buffers are padded to
// 256 bytes). In ELEMENTS mode lanes past n read element n − 1, so every read stays in bounds.
// Bindings: group 0: 0 a (vec4, read), 1 b (vec4, read), 2 out (vec4, read_write). Group 1: 0 p.
// Grid: ceil(n / (4·VEC4S_PER_THREAD)) threads, each computing vec4s of out a grid-stride apart; 2-D grid.

override OP: u32;

struct Params {
  n: u32,
  mode: u32,
  rank: u32,
  p0: f32,
  p1: f32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<i32>, 2>,
  b_strides: array<vec4<i32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

fn apply(x: vec4<f32>, y: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  let one = vec4<f32>(1.0);
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return max(x, y); }
    case 5u: { return min(x, y); }
    case 6u: { return select(zero, one, x == y); }
    case 7u: { return select(zero, one, x > y); }
    case 8u: { return select(zero, one, x >= y); }
    case 9u: { return select(zero, one, x < y); }
    case 10u: { return select(zero, one, x <= y); }
    case 11u: { return x * (1.0 - y * y); } // tanh_grad(dy, y)
    case 12u: { return x * y * (1.0 - y); } // sigmoid_grad(dy, y)
    case 13u: { return select(zero, x, y > zero); } // relu_grad(dy, x)
    default: { return select(zero, x, (y >= vec4<f32>(p.p0)) & (y <= vec4<f32>(p.p1))); } // clamp_grad
  }
}

fn strides(d: u32) -> vec2<i32> {
  return vec2<i32>(p.a_strides[d / 4u][d % 4u], p.b_strides[d / 4u][d % 4u]);
}

// Offsets into a and b of index e (< the element count) of out's first `rank` dimensions: e's
// coordinates dotted with each operand's strides, with one division per dimension but the first.
fn offsets(e: u32, rank: u32) -> vec2<u32> {
  var rest = e;
  var offset = vec2<i32>(0);
  for (var d = i32(rank) - 1; d > 0; d--) {
    let size = p.shape[d / 4][d % 4];
    let q = rest / size;
    offset += i32(rest - q * size) * strides(u32(d));
    rest = q;
  }
  return vec2<u32>(offset + i32(rest) * strides(0u));
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
    let i = t + k * thread_count(nwg);
    if (4u * i >= p.n) {
      return;
    }
    switch p.mode {
      case 0u: { out[i] = apply(a[i], b[i]); }
      case 1u: { out[i] = apply(vec4<f32>(a[0].x), b[i]); }
      case 2u: { out[i] = apply(a[i], vec4<f32>(b[0].x)); }
      case 3u: {
        let last = p.rank - 1u;
        let row_vec4s = p.shape[last / 4u][last % 4u] / 4u;
        let row = i / row_vec4s;
        let c = i - row * row_vec4s;
        let o = offsets(row, last);
        let along = strides(last) != vec2<i32>(0);
        var x: vec4<f32>;
        var y: vec4<f32>;
        if (along.x) {
          x = a[o.x / 4u + c];
        } else {
          x = vec4<f32>(a[o.x / 4u][o.x % 4u]);
        }
        if (along.y) {
          y = b[o.y / 4u + c];
        } else {
          y = vec4<f32>(b[o.y / 4u][o.y % 4u]);
        }
        out[i] = apply(x, y);
      }
      default: {
        var x: vec4<f32>;
        var y: vec4<f32>;
        for (var j = 0u; j < 4u; j++) {
          let o = offsets(min(4u * i + j, p.n - 1u), p.rank);
          x[j] = a[o.x / 4u][o.x % 4u];
          y[j] = b[o.y / 4u][o.y % 4u];
        }
        out[i] = apply(x, y);
      }
    }
  }
}
