// plastic_step_bwd_finish.wgsl: the per-row gradients of the plastic step, from the shares of the
// row sums that plastic_step_bwd.wgsl leaves per Chunk column and the coefficients of
// plastic_step_bwd_prep.wgsl. Row t = b·N + i adds up (S1, S2, S3, S4) = Σ_c row_part[t, c]:
// ns = 4 floats per share, or for hebbian S1 (ns = 1) and S4 (ns = 2); the others are then 0.
// With (dz, m, ·, ·) and (·, ·, η, post) = coef[b, i]:
//   hebbian, decay, oja: dpost = m·S1 + ∂a/∂post·S2;  dmod = post·S1 + ∂a/∂m·S2
//   retroactive:         dpost = η·S1;  dmod = S2;  deta = post·S1 − S3
//   dalpha = dz·S4 (this row's share of the gradient of an alpha of shape [N] or [1])
// where a is the rule's row factor (plastic_common.wgsl): ∂a/∂m = 0, −1, −post² and
// ∂a/∂post = 0, 0, −2·m·post for hebbian, decay, oja.
// A workgroup holds one episode and also sums its rows' dmod (unless the modulation is per
// neuron), deta, and dalpha (if alpha is a scalar): one reduction dispatch fewer per step for a
// modulation per episode, two for the retroactive rule at B = 1 (the host reduces the per-episode
// sums over B, and per-neuron dalpha over B).
// Shapes: row_part [B·N, nc, ns]; coef [B·N, 2] vec4; dpost [B, N]; dmod [B, N] if mod_rows = 1,
// else [B]; deta [B]; dalpha [B, N] if alpha_rows = 1, else [B].
// Bindings: group 0: 0 row_part (as vec4s), 1 row_part (the same buffer, as floats), 2 coef (read);
// 3 dpost, 4 dmod, 5 deta, 6 dalpha (read_write).
// deta is written only if retroactive, dalpha only if alpha_full = 0 (otherwise they are
// placeholders). Group 1: 0 p.
// Grid: one workgroup per episode (B workgroups, 2-D grid); thread l handles rows l, l + WG, ...

struct Params {
  batch: u32,
  n: u32,
  nc: u32, // shares per row
  ns: u32, // floats per share
  rule: u32,
  alpha_full: u32,
  mod_rows: u32, // 1: dmod per row (a modulation per neuron); 0: summed over the episode's rows
  alpha_rows: u32, // 1: dalpha per row (alpha per neuron); 0: summed (a scalar alpha)
}

@group(0) @binding(0) var<storage, read> row_part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> row_part_f32: array<f32>;
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dpost: array<f32>;
@group(0) @binding(4) var<storage, read_write> dmod: array<f32>;
@group(0) @binding(5) var<storage, read_write> deta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dalpha: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Each thread's sums of (dmod, deta, dalpha) over its rows, added up by thread 0.
var<workgroup> sums: array<vec3<f32>, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.batch) {
    return; // the 2-D grid's spare workgroups (uniform)
  }
  var acc = vec3<f32>(0.0);
  for (var i = lid; i < p.n; i += WG) {
    let t = b * p.n + i;
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
    // (dpost, dmod, deta) of this row
    var g = vec3<f32>(m * s.x, post * s.x, 0.0);
    switch p.rule {
      case RETROACTIVE: {
        g = vec3<f32>(eta * s.x, s.y, post * s.x - s.z);
      }
      case DECAY: {
        g.y = post * s.x - s.y;
      }
      case OJA: {
        g = vec3<f32>(m * s.x - 2.0 * m * post * s.y, post * s.x - post * post * s.y, 0.0);
      }
      default: {}
    }
    dpost[t] = g.x;
    let da = dz * s.w;
    if (p.mod_rows == 1u) {
      dmod[t] = g.y;
    }
    if (p.alpha_full == 0u && p.alpha_rows == 1u) {
      dalpha[t] = da;
    }
    acc += vec3<f32>(g.y, g.z, da);
  }
  // One barrier: every thread leaves its sums, thread 0 adds them up.
  sums[lid] = acc;
  workgroupBarrier();
  if (lid == 0u) {
    var total = vec3<f32>(0.0);
    for (var l = 0u; l < WG; l++) {
      total += sums[l];
    }
    if (p.mod_rows == 0u) {
      dmod[b] = total.x;
    }
    if (p.rule == RETROACTIVE) {
      deta[b] = total.y;
    }
    if (p.alpha_full == 0u && p.alpha_rows == 0u) {
      dalpha[b] = total.z;
    }
  }
}
