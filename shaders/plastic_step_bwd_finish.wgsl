// plastic_step_bwd_finish.wgsl: the per-row gradients of the plastic step, from the shares of the
// row sums that plastic_step_bwd.wgsl leaves per Chunk column and the coefficients of
// plastic_step_bwd_prep.wgsl. Thread t = b·N + i adds up (S1, S2, S3, S4) = Σ_c row_part[t, c]:
// ns = 4 floats per share, or for hebbian S1 (ns = 1) and S4 (ns = 2); the others are then 0.
// With (dz, m, ·, ·) and (·, ·, η, post) = coef[b, i]:
//   hebbian, decay, oja: dpost = m·S1 + ∂a/∂post·S2;  dmod = post·S1 + ∂a/∂m·S2
//   retroactive:         dpost = η·S1;  dmod = S2;  deta = post·S1 − S3
//   dalpha = dz·S4 (this row's share of the gradient of an alpha of shape [N] or [1])
// where a is the rule's row factor (plastic_common.wgsl): ∂a/∂m = 0, −1, −post² and
// ∂a/∂post = 0, 0, −2·m·post for hebbian, decay, oja. dmod, deta and dalpha are per row; the host
// reduces them to the shapes of mod, eta and alpha.
// Shapes: row_part [B·N, nc, ns]; coef [B·N, 2] vec4; every output [B, N].
// Bindings: group 0: 0 row_part (as vec4s), 1 row_part (the same buffer, as floats), 2 coef (read);
// 3 dpost, 4 dmod, 5 deta, 6 dalpha (read_write).
// deta is written only if retroactive, dalpha only if alpha_full = 0 (otherwise they are
// placeholders). Group 1: 0 p.
// Grid: one thread per row (B·N threads), 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  n: u32,
  nc: u32, // shares per row
  ns: u32, // floats per share
  rule: u32,
  alpha_full: u32,
}

@group(0) @binding(0) var<storage, read> row_part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> row_part_f32: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dpost: array<f32>;
@group(0) @binding(4) var<storage, read_write> dmod: array<f32>;
@group(0) @binding(5) var<storage, read_write> deta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dalpha: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  let rows = p.batch * p.n;
  if (t >= rows) {
    return;
  }
  var s = vec4<f32>(0.0);
  if (p.ns == 4u) {
    for (var c = 0u; c < p.nc; c++) {
      s += row_part[t * p.nc + c];
    }
  } else {
    for (var c = 0u; c < p.nc; c++) {
      let r0 = (t * p.nc + c) * p.ns;
      s.x += row_part_f32[r0];
      if (p.ns == 2u) {
        s.w += row_part_f32[r0 + 1u];
      }
    }
  }
  let c0 = coef[2u * t];
  let c1 = coef[2u * t + 1u];
  let dz = c0.x;
  let m = c0.y;
  let eta = c1.z;
  let post = c1.w;
  switch p.rule {
    case RETROACTIVE: {
      dpost[t] = eta * s.x;
      dmod[t] = s.y;
      deta[t] = post * s.x - s.z;
    }
    case DECAY: {
      dpost[t] = m * s.x;
      dmod[t] = post * s.x - s.y;
    }
    case OJA: {
      dpost[t] = m * s.x - 2.0 * m * post * s.y;
      dmod[t] = post * s.x - post * post * s.y;
    }
    default: {
      dpost[t] = m * s.x;
      dmod[t] = post * s.x;
    }
  }
  if (p.alpha_full == 0u) {
    dalpha[t] = dz * s.w;
  }
}
