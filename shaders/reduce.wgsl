// reduce.wgsl: x viewed as [outer, len, inner], len split into `chunks` runs of chunk_len:
//   out[o, c, i] = op over l in [c·chunk_len, min(len, (c+1)·chunk_len)) of x[o, l, i],
// op = sum (0) or max (1). chunks = 1 is the plain reduction, out = [outer, inner]. When len is
// large and outer·inner small, the host runs this twice (chunks > 1, then over the partials), so a
// sum of 1M elements is spread over thousands of threads instead of one.
// Shapes: x [outer, len, inner] row-major (f32); out [outer, chunks, inner]. Every run is non-empty.
// Elements are Chunks (chunk_vec4.wgsl or chunk_f32.wgsl, appended by the host): with inner a
// multiple of 4, each thread reduces four neighbouring columns at once, and `inner` counts Chunks.
// Bindings: group 0: 0 x (read), 1 out (read_write). Group 1: 0 p.
// Grid: one thread per output Chunk (outer·chunks·inner threads), 2-D grid of WG-thread workgroups.

struct Params {
  outer: u32,
  len: u32,
  inner: u32,
  chunks: u32,
  chunk_len: u32,
  op: u32,
}

@group(0) @binding(0) var<storage, read> x: array<Chunk>;
@group(0) @binding(1) var<storage, read_write> out: array<Chunk>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = thread_index(gid, nwg);
  if (t >= p.outer * p.chunks * p.inner) {
    return;
  }
  // Two divisions, not four: x86 has no vector integer division, so lavapipe runs each one lane
  // by lane.
  let inner_chunks = p.inner * p.chunks;
  let o = t / inner_chunks;
  let rest = t - o * inner_chunks;
  let c = rest / p.inner;
  let i = rest - c * p.inner;
  let start = c * p.chunk_len;
  let end = min(p.len, start + p.chunk_len);
  let base = o * p.len * p.inner + i;
  var acc = x[base + start * p.inner];
  if (p.op == 0u) {
    for (var l = start + 1u; l < end; l++) {
      acc += x[base + l * p.inner];
    }
  } else {
    for (var l = start + 1u; l < end; l++) {
      acc = max(acc, x[base + l * p.inner]);
    }
  }
  out[t] = acc;
}
