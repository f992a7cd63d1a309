// plastic_vec4.wgsl: the element type of the plastic kernels when rows are whole vec4s (N % 4 = 0).
// plastic.ts appends it (with plastic_common.wgsl) to each plastic kernel; plastic_f32.wgsl is the
// scalar alternative. One kernel source thus serves both widths: indices count Chunks, CW floats each.

alias Chunk = vec4<f32>;
const CW: u32 = 4u;

fn hsum(v: Chunk) -> f32 {
  return v.x + v.y + v.z + v.w;
}
