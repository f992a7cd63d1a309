// common.wgsl: helpers shared by every kernel. pipelines.ts prepends this file to each kernel's
// source by plain concatenation (no other preprocessing), so compile errors are reported with line
// numbers relative to the kernel's own file.

// Threads per workgroup of every 1-D kernel. Launches use a 2-D grid of such workgroups, because
// one dimension holds at most 65535 of them; thread_index() flattens it again.
const WG: u32 = 64u;

// Computed from global_invocation_id: measured 1.4x faster for copy and tanh on lavapipe than the
// same index rebuilt from workgroup_id and local_invocation_index (bench:ops, 5 MB).
fn thread_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * (nwg.x * WG) + gid.x;
}

// Element-wise kernels give each thread VEC4S_PER_THREAD vec4s, a grid-stride apart (t, t + T,
// ...: neighbouring lanes stay on neighbouring addresses): copy and tanh ran 1.3-1.6x faster on
// lavapipe than with one vec4 per thread (bench:ops, 5 MB). The host launches ceil(n4 / 4) threads.
const VEC4S_PER_THREAD: u32 = 4u;

fn thread_count(nwg: vec3<u32>) -> u32 {
  return nwg.x * nwg.y * WG;
}

// tanh as the odd rational function p(x)/q(x) of degrees 13/6 that Eigen and XLA use for float32
// (Eigen's generic_fast_tanh_float), on x clamped to ±7.905, where float32 tanh rounds to ±1:
// no exp, so it runs ~2x faster on lavapipe, never overflows, and |x| = 100 gives ±1 where the
// built-in tanh returns NaN on some backends (gpuweb#4458). Error: a few float32 ulps.
fn stable_tanh(v: vec4<f32>) -> vec4<f32> {
  let x = clamp(v, vec4<f32>(-7.90531110763549805), vec4<f32>(7.90531110763549805));
  let x2 = x * x;
  var p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = x2 * p + -8.60467152213735e-11;
  p = x2 * p + 5.12229709037114e-08;
  p = x2 * p + 1.48572235717979e-05;
  p = x2 * p + 6.37261928875436e-04;
  p = x2 * p + 4.89352455891786e-03;
  var q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04;
  q = x2 * q + 2.26843463243900e-03;
  q = x2 * q + 4.89352518554385e-03;
  // Below 4e-4 the quotient is x to float32 precision; returning x keeps tanh(±0) exact.
  return select(x * p / q, x, abs(x) < vec4<f32>(0.0004));
}

// sigmoid from e = exp(−|x|) ≤ 1: 1/(1 + e) for x ≥ 0, e/(1 + e) otherwise; never overflows.
fn stable_sigmoid(x: vec4<f32>) -> vec4<f32> {
  let e = exp(-abs(x));
  return select(e, vec4<f32>(1.0), x >= vec4<f32>(0.0)) / (1.0 + e);
}

// PCG-RXS-M-XS hash, the same bits as pcgHash in src/kernels/hash.ts (u32 arithmetic wraps).
fn pcg_hash(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// A uniform number in [0, 1) with 24 random bits, exact in f32: hashUniform in hash.ts.
fn hash_uniform(seed: u32, index: u32) -> f32 {
  return f32(pcg_hash(pcg_hash(index) ^ seed) >> 8u) / 16777216.0;
}
