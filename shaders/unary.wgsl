// unary.wgsl: out[i] = op(x[i]) for the UnaryOp numbered OP (order of UNARY_OPS in
// webgpu_backend.ts), with scalar parameters p0, p1. OP is an override constant: one pipeline per
// op, so the compiler drops the other cases (a uniform switch made tanh 1.5x slower on lavapipe).
// Shapes: x and out flat; n4 = ceil(n/4) vec4s are processed (pooled buffers are padded to 256
// bytes, so the last vec4 is in bounds; lanes past n compute garbage nobody reads).
// Bindings: group 0: 0 x (vec4, read), 1 out (vec4, read_write). Group 1: 0 p.
// Grid: ceil(n4 / VEC4S_PER_THREAD) threads, each mapping vec4s a grid-stride apart; 2-D grid.

override OP: u32;

struct Params {
  n4: u32,
  p0: f32,
  p1: f32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@group(1) @binding(0) var<uniform> p: Params;

// x^y with PyTorch's rules where WGSL's pow is undefined: x^0 = 1 (also for x = 0), and for x < 0
// the sign-corrected |x|^y when y is an integer. For x < 0 and fractional y, pow itself yields NaN
// on IEEE backends, as PyTorch does.
fn torch_pow(x: vec4<f32>, y: f32) -> vec4<f32> {
  if (y == 0.0) {
    return vec4<f32>(1.0);
  }
  let r = pow(abs(x), vec4<f32>(y));
  if (y != floor(y)) {
    return select(r, pow(x, vec4<f32>(y)), x < vec4<f32>(0.0));
  }
  let odd = y - 2.0 * floor(0.5 * y) == 1.0;
  return select(r, -r, vec4<bool>(odd) & (x < vec4<f32>(0.0)));
}

fn apply(v: vec4<f32>) -> vec4<f32> {
  let zero = vec4<f32>(0.0);
  let one = vec4<f32>(1.0);
  switch OP {
    case 0u: { return -v; } // neg
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return stable_tanh(v); }
    case 5u: { return stable_sigmoid(v); }
    case 6u: { return max(v, zero); } // relu
    case 7u: { return abs(v); }
    case 8u: { return sign(v); }
    case 9u: { return v * v; } // square
    case 10u: { return one / v; } // reciprocal
    case 11u: { return torch_pow(v, p.p0); }
    case 12u: { return min(max(v, vec4<f32>(p.p0)), vec4<f32>(p.p1)); } // clamp
    case 13u: { return v * p.p0 + p.p1; } // affine
    default: { return select(zero, one, v > vec4<f32>(p.p0)); } // step
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  let stride = thread_count(nwg);
  if (t + (VEC4S_PER_THREAD - 1u) * stride < p.n4) {
    // All of this thread's vec4s are in range: load them all, then apply op to each, so that the
    // compiler can interleave their independent chains of arithmetic (tanh's rational function is
    // one long chain per vec4). tanh at 5 MB went from 0.73 to 0.82 of a copy's bandwidth on
    // lavapipe (a raw Dawn harness, 25 alternating rounds) against one vec4 at a time.
    var v: array<vec4<f32>, VEC4S_PER_THREAD>;
    for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
      v[k] = x[t + k * stride];
    }
    for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
      out[t + k * stride] = apply(v[k]);
    }
    return;
  }
  for (var k = 0u; k < VEC4S_PER_THREAD; k++) {
    let i = t + k * stride;
    if (i >= p.n4) {
      return;
    }
    out[i] = apply(x[i]);
  }
}
