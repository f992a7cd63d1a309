/**
 * A seeded PRNG for everything random on the host: init, data sampling, dropout seeds.
 *
 * xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c): 128 bits of
 * state, 32-bit integer arithmetic only, so every JS engine produces the same sequence bit for bit.
 * The seed is expanded with splitmix32, as the authors recommend, so nearby seeds give unrelated
 * streams. The state is four numbers, which makes checkpoints of it trivial.
 */

/** The full generator state: plain JSON, restored exactly by `setState`. */
export interface RngState {
  s: [number, number, number, number];
}

const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Rng {
  #s = new Uint32Array(4);

  /** `seed` is any integer; its low 53 bits matter. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    // splitmix32 over both halves of the seed, so seeds above 2^32 still differ.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_POW_32), 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = z ^ (z >>> 16);
    }
    // An all-zero state would stay zero forever.
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1), with 32 bits of resolution. */
  uniform(): number {
    return this.u32() / TWO_POW_32;
  }

  /** Standard normal by Box–Muller (two uniforms per sample; no cached spare, so the state is just `s`). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log stays finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** A uniform integer in [0, n), without modulo bias (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.u32();
    while (x >= limit) x = this.u32();
    return x % n;
  }

  /** Fisher–Yates shuffle in place; returns `xs`. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }

  /** An index drawn with probability proportional to `probs` (non-negative, need not sum to 1). */
  categorical(probs: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < probs.length; i++) {
      if (!(probs[i] >= 0) || probs[i] === Infinity) throw new RangeError(`Rng.categorical: probs[${i}] = ${probs[i]} is not a finite non-negative number`);
      total += probs[i];
    }
    if (!(total > 0)) throw new RangeError('Rng.categorical: probs sum to 0');
    let r = this.uniform() * total;
    let last = 0;
    for (let i = 0; i < probs.length; i++) {
      if (probs[i] === 0) continue;
      r -= probs[i];
      if (r < 0) return i;
      last = i;
    }
    // Rounding can leave r a hair above 0: the answer is the last index with mass.
    return last;
  }

  getState(): RngState {
    const [a, b, c, d] = this.#s;
    return { s: [a, b, c, d] };
  }

  setState(state: RngState): void {
    const s = state?.s;
    if (!Array.isArray(s) || s.length !== 4 || !s.every((v) => Number.isInteger(v) && v >= 0 && v < TWO_POW_32) || s.every((v) => v === 0)) {
      throw new RangeError(`Rng.setState: expected { s: four uint32, not all zero }, got ${JSON.stringify(state)}`);
    }
    this.#s.set(s);
  }
}
