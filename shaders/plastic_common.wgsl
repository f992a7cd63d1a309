// plastic_common.wgsl: the trace rules of PAPER.md §1 (PlasticRule, ClipKind in backend.ts) on one
// Chunk of a trace row, shared by the forward and backward plastic kernels. plastic.ts appends it,
// and chunk_vec4.wgsl or chunk_f32.wgsl (which define Chunk), after each plastic kernel.
//
// Every rule is one formula, with a per-row factor a and an increment d:
//   u  = a·H + d − k·H·|d|;   H' = clamp(u, −c, c)
//   hebbian:     a = 1,              d = m·post_i·pre_j    (Eqs. 2-3)
//   decay:       a = 1 − m,          d = m·post_i·pre_j    (2018 form)
//   oja:         a = 1 − m·post_i²,  d = m·post_i·pre_j    (H + m·post·(pre − post·H))
//   retroactive: a = 1,              d = m·E               (Eq. 4; E' = (1 − η)·E + η·post·pre, Eq. 5)
// k = 1/c gives the soft clip (addpw = 2: max(d, 0)·(1 − H/c) + min(d, 0)·(1 + H/c) = d − H·|d|/c),
// k = 0 the hard one; the host passes c = 3e38 for an unbounded trace (clip 'none', and always for
// decay and oja, which are never clipped).

const HEBBIAN: u32 = 0u;
const DECAY: u32 = 1u;
const OJA: u32 = 2u;
const RETROACTIVE: u32 = 3u;

// The rule's per-row factor a.
fn row_decay(rule: u32, m: f32, post: f32) -> f32 {
  switch rule {
    case DECAY: {
      return 1.0 - m;
    }
    case OJA: {
      return 1.0 - m * post * post;
    }
    default: {
      return 1.0;
    }
  }
}

// The new trace and its derivatives with respect to the old trace (dh) and the increment (dd).
struct Update {
  h: Chunk,
  dh: Chunk,
  dd: Chunk,
}

fn trace_update(h: Chunk, d: Chunk, a: f32, k: f32, c: f32) -> Update {
  let u = a * h + d - k * h * abs(d);
  // The clamp's gradient passes where −c <= u <= c, bounds included (PyTorch).
  let inside = select(Chunk(0.0), Chunk(1.0), abs(u) <= Chunk(c));
  let dh = inside * (a - k * abs(d));
  let dd = inside * select(1.0 + k * h, 1.0 - k * h, d > Chunk(0.0));
  return Update(clamp(u, Chunk(-c), Chunk(c)), dh, dd);
}
