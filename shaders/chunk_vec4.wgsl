// chunk_vec4.wgsl: the element type Chunk of the kernels that move whole vec4s when a row's length
// is a multiple of 4 (the plastic kernels, reduce). The host appends it, or chunk_f32.wgsl, after
// such a kernel: one source serves both widths, and indices count Chunks of CW floats each.
// vec4 accesses are 2.5-3x cheaper than four f32 ones on lavapipe: llvmpipe turns every storage
// access whose address differs between lanes into a loop over the SIMD lanes (a mask test and a
// bounds test per lane, then the components), so one vec4 access costs little more than one f32
// access (Mesa gallivm's emit_load_mem / emit_store_mem). Accesses, not bytes, set the price there:
// bench/jit_profile.sh shows a kernel's compiled instruction mix.

alias Chunk = vec4<f32>;
const CW: u32 = 4u;

fn hsum(v: Chunk) -> f32 {
  return v.x + v.y + v.z + v.w;
}
