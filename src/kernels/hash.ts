/**
 * Counter-based random numbers shared by the CPU backend and `shaders/common.wgsl`.
 * Dropout masks are a pure function of (seed, element index), so the backward pass regenerates the
 * mask instead of saving it, and both backends produce identical masks bit for bit.
 */

/** PCG-RXS-M-XS hash of a u32 (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020). */
export function pcgHash(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** A uniform number in [0, 1) with 24 random bits, exact in float32. */
export function hashUniform(seed: number, index: number): number {
  return (pcgHash((pcgHash(index) ^ seed) >>> 0) >>> 8) / 16777216;
}
