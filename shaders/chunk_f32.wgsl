// chunk_f32.wgsl: the scalar alternative to chunk_vec4.wgsl, for rows whose length is not a
// multiple of 4 (they do not start on vec4 boundaries): one float per Chunk.

alias Chunk = f32;
const CW: u32 = 1u;

fn hsum(v: Chunk) -> f32 {
  return v;
}
