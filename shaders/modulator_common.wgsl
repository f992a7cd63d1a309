// modulator_common.wgsl: the parameters of the modulator kernels (Backend.modulator), appended to
// modulator.wgsl and the backward kernels (modulator_bwd*.wgsl).
// Shapes: h [rows, n]; w [n]; b [1]; fw, fb [k]; m, dm, dpre [rows]; eta, deta [rows, k].

struct Params {
  rows: u32,
  n: u32,
  k: u32,
  has_fan: u32, // fw, fb and eta exist (k > 0)
  has_dm: u32, // the backward's incoming gradients (else zero)
  has_deta: u32,
}

@group(1) @binding(0) var<uniform> p: Params;
