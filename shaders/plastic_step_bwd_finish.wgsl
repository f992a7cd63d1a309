// plastic_step_bwd_finish.wgsl: the [B, N] gradients of the plastic step, from the partial sums of
// plastic_step_bwd.wgsl and the coefficients of plastic_step_bwd_prep.wgsl. Thread t = b·N + n
// finishes column j = n and row i = n of episode b:
//   dx[b, j] = Σ_rb col_x[b, rb, j];   dpre[b, j] = Σ_rb col_pre[b, rb, j]
// and, with (S1, S2, S3, S4) = row_sums[b, i], (dz, m, ·, ·) and (·, ·, η, post) = coef[b, i]:
//   hebbian, decay, oja: dpost = m·S1 + ∂a/∂post·S2;  dmod = post·S1 + ∂a/∂m·S2
//   retroactive:         dpost = η·S1;  dmod = S2;  deta = post·S1 − S3
//   dalpha = dz·S4 (this row's share of the gradient of an alpha of shape [N] or [1])
// where a is the rule's row factor (plastic_common.wgsl): ∂a/∂m = 0, −1, −post² and
// ∂a/∂post = 0, 0, −2·m·post for hebbian, decay, oja. dmod, deta and dalpha are per row; the host
// reduces them to the shapes of mod, eta and alpha.
// Shapes: col_x, col_pre [B, row_blocks, N]; row_sums, coef as in plastic_step_bwd.wgsl; every
// output [B, N].
// Bindings: group 0: 0 col_x, 1 col_pre, 2 row_sums, 3 coef (read); 4 dx, 5 dpre, 6 dpost, 7 dmod,
// 8 deta, 9 dalpha (read_write). deta is written only if retroactive, dalpha only if alpha_full = 0
// (otherwise they are placeholders). Group 1: 0 p.
// Grid: one thread per (b, n) (B·N threads), 2-D grid of WG-thread workgroups.

struct Params {
  batch: u32,
  n: u32,
  row_blocks: u32,
  rule: u32,
  alpha_full: u32,
}

@group(0) @binding(0) var<storage, read> col_x: array<f32>;
@group(0) @binding(1) var<storage, read> col_pre: array<f32>;
@group(0) @binding(2) var<storage, read> row_sums: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dpre: array<f32>;
@group(0) @binding(6) var<storage, read_write> dpost: array<f32>;
@group(0) @binding(7) var<storage, read_write> dmod: array<f32>;
@group(0) @binding(8) var<storage, read_write> deta: array<f32>;
@group(0) @binding(9) var<storage, read_write> dalpha: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.batch * p.n) {
    return;
  }
  let b = t / p.n;
  let n = t % p.n;
  var sx = 0.0;
  var sp = 0.0;
  for (var rb = 0u; rb < p.row_blocks; rb++) {
    let c = (b * p.row_blocks + rb) * p.n + n;
    sx += col_x[c];
    sp += col_pre[c];
  }
  dx[t] = sx;
  dpre[t] = sp;

  let s = row_sums[t];
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
