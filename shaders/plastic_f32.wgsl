// plastic_f32.wgsl: the element type of the plastic kernels when N is not a multiple of 4, so rows
// do not start on vec4 boundaries: one float per Chunk (see plastic_vec4.wgsl).

alias Chunk = f32;
const CW: u32 = 1u;

fn hsum(v: Chunk) -> f32 {
  return v;
}
