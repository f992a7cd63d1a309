/**
 * CPU reference of the plastic kernels (PAPER.md §1, DESIGN.md "The plastic kernels"): the
 * semantics the WGSL kernels are tested against, written one (b, i, j) element at a time.
 * Index convention: H[b, i, j] is the trace of the connection from presynaptic j to postsynaptic i.
 */
import type { ClipKind, FloatArray, PlasticGeometry } from '../backend.js';

/** What the trace update reads. */
export interface UpdateArrays {
  hebb: FloatArray;
  elig: FloatArray | null;
  pre: FloatArray;
  post: FloatArray;
  mod: FloatArray;
  eta: FloatArray | null;
}

/** What the fused step reads: the update's arrays and the cell's. */
export interface PlasticArrays extends UpdateArrays {
  x: FloatArray;
  drive: FloatArray;
  w: FloatArray;
  alpha: FloatArray;
}

type NewArray = (n: number) => FloatArray;

/**
 * One element's update: the new trace H' and eligibility E', and ∂H'/∂H and ∂H'/∂d (d the
 * increment). One object is reused: these loops run B·N² times a step, and a fresh array per element
 * made allocation and garbage collection most of the CPU backend's time.
 */
interface Update {
  hebb: number;
  elig: number;
  dH: number;
  dd: number;
}
const update: Update = { hebb: 0, elig: 0, dH: 0, dd: 0 };

function setUpdate(hebb: number, dH: number, dd: number): void {
  update.hebb = hebb;
  update.dH = dH;
  update.dd = dd;
}

/** Bounded trace increment H ⊕ d into `update` (hebb, dH, dd). */
function clipped(kind: ClipKind, c: number, h: number, d: number): void {
  if (kind === 'none') {
    setUpdate(h + d, 1, 1);
    return;
  }
  // soft clip (addpw=2): the increment shrinks as the trace nears the bound it moves towards
  const v = kind === 'hard' ? h + d : h + Math.max(d, 0) * (1 - h / c) + Math.min(d, 0) * (1 + h / c);
  // the clamp's gradient passes where −c <= v <= c, bounds included (PyTorch)
  const pass = v >= -c && v <= c ? 1 : 0;
  const bounded = Math.min(Math.max(v, -c), c);
  if (kind === 'hard') setUpdate(bounded, pass, pass);
  else setUpdate(bounded, pass * (1 - Math.max(d, 0) / c + Math.min(d, 0) / c), pass * (d > 0 ? 1 - h / c : 1 + h / c));
}

/** Index helpers for the broadcast modulation and alpha. */
function accessors(g: PlasticGeometry): { mi: (b: number, i: number) => number; ai: (i: number, j: number) => number } {
  const n = g.n;
  const mi = g.modKind === 'global' ? () => 0 : g.modKind === 'episode' ? (b: number) => b : (b: number, i: number) => b * n + i;
  const ai = g.alphaKind === 'full' ? (i: number, j: number) => i * n + j : g.alphaKind === 'neuron' ? (i: number) => i : () => 0;
  return { mi, ai };
}

/** The update at one (b, i, j), in `update` (E' = 0 unless retroactive). */
function updateAt(g: PlasticGeometry, a: UpdateArrays, b: number, i: number, j: number, m: number): Update {
  const n = g.n;
  const k = (b * n + i) * n + j;
  const h = a.hebb[k];
  const post = a.post[b * n + i];
  const pre = a.pre[b * n + j];
  update.elig = 0;
  switch (g.rule) {
    case 'hebbian':
      clipped(g.clip, g.clipValue, h, m * post * pre);
      break;
    case 'decay':
      setUpdate((1 - m) * h + m * post * pre, 1 - m, 0);
      break;
    case 'oja':
      setUpdate(h + m * post * (pre - post * h), 1 - m * post * post, 0);
      break;
    case 'retroactive': {
      const e = a.elig![k];
      const eta = a.eta![0];
      clipped(g.clip, g.clipValue, h, m * e);
      update.elig = (1 - eta) * e + eta * post * pre;
      break;
    }
  }
  return update;
}

export function hebbUpdate(g: PlasticGeometry, a: UpdateArrays, alloc: NewArray): { hebb: FloatArray; elig: FloatArray | null } {
  const { batch, n } = g;
  const { mi } = accessors(g);
  const hebb = alloc(batch * n * n);
  const elig = g.rule === 'retroactive' ? alloc(batch * n * n) : null;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const m = a.mod[mi(b, i)];
      for (let j = 0; j < n; j++) {
        const { hebb: h, elig: e } = updateAt(g, a, b, i, j, m);
        hebb[(b * n + i) * n + j] = h;
        if (elig) elig[(b * n + i) * n + j] = e;
      }
    }
  }
  return { hebb, elig };
}

export function plasticStep(g: PlasticGeometry, a: PlasticArrays, alloc: NewArray): { h: FloatArray; hebb: FloatArray; elig: FloatArray | null } {
  const { batch, n } = g;
  const { ai } = accessors(g);
  const { hebb, elig } = hebbUpdate(g, a, alloc);
  const h = alloc(batch * n);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      let z = a.drive[b * n + i];
      for (let j = 0; j < n; j++) z += (a.w[i * n + j] + a.alpha[ai(i, j)] * hebb[(b * n + i) * n + j]) * a.x[b * n + j];
      h[b * n + i] = Math.tanh(z);
    }
  }
  return { h, hebb, elig };
}

export interface PlasticGradArrays {
  hebb: FloatArray;
  elig: FloatArray | null;
  pre: FloatArray;
  post: FloatArray;
  mod: FloatArray;
  eta: FloatArray | null;
  x: FloatArray;
  drive: FloatArray;
  w: FloatArray;
  alpha: FloatArray;
}

/**
 * Backward of plasticStep. With z the cell's pre-activation and G = dH' + α·dz·x (the trace's total
 * gradient: the cell reads H'), every input gradient follows from one visit of each (b, i, j).
 */
export function plasticStepBackward(
  g: PlasticGeometry,
  a: PlasticArrays,
  hOut: FloatArray,
  dhOut: FloatArray | null,
  dHebbOut: FloatArray | null,
  dEligOut: FloatArray | null,
  alloc: NewArray,
): PlasticGradArrays {
  const { batch, n } = g;
  const { mi, ai } = accessors(g);
  const retro = g.rule === 'retroactive';
  const d: PlasticGradArrays = {
    hebb: alloc(batch * n * n),
    elig: retro ? alloc(batch * n * n) : null,
    pre: alloc(batch * n),
    post: alloc(batch * n),
    mod: alloc(a.mod.length),
    eta: retro ? alloc(1) : null,
    x: alloc(batch * n),
    drive: alloc(batch * n),
    w: alloc(n * n),
    alpha: alloc(a.alpha.length),
  };
  const eta = retro ? a.eta![0] : 0;
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const bi = b * n + i;
      const hv = hOut[bi];
      const dz = dhOut ? dhOut[bi] * (1 - hv * hv) : 0;
      d.drive[bi] = dz;
      const m = a.mod[mi(b, i)];
      const post = a.post[bi];
      for (let j = 0; j < n; j++) {
        const k = bi * n + j;
        const bj = b * n + j;
        const pre = a.pre[bj];
        const x = a.x[bj];
        const al = a.alpha[ai(i, j)];
        const { hebb: hNew, dH: dhdH, dd: dhdd } = updateAt(g, a, b, i, j, m);
        // the cell: z = drive + Σ_j (w + α·H')·x
        d.w[i * n + j] += dz * x;
        d.alpha[ai(i, j)] += dz * hNew * x;
        d.x[bj] += (a.w[i * n + j] + al * hNew) * dz;
        const G = (dHebbOut ? dHebbOut[k] : 0) + al * dz * x;
        const hOld = a.hebb[k];
        switch (g.rule) {
          case 'hebbian': {
            // H' = clip(H + m·post·pre)
            const gd = G * dhdd;
            d.hebb[k] = G * dhdH;
            d.mod[mi(b, i)] += gd * post * pre;
            d.post[bi] += gd * m * pre;
            d.pre[bj] += gd * m * post;
            break;
          }
          case 'decay':
            // H' = (1 − m)·H + m·post·pre
            d.hebb[k] = G * dhdH;
            d.mod[mi(b, i)] += G * (post * pre - hOld);
            d.post[bi] += G * m * pre;
            d.pre[bj] += G * m * post;
            break;
          case 'oja':
            // H' = H + m·post·(pre − post·H)
            d.hebb[k] = G * dhdH;
            d.mod[mi(b, i)] += G * post * (pre - post * hOld);
            d.post[bi] += G * m * (pre - 2 * post * hOld);
            d.pre[bj] += G * m * post;
            break;
          case 'retroactive': {
            // H' = clip(H + m·E);  E' = (1 − η)·E + η·post·pre
            const e = a.elig![k];
            const dE = dEligOut ? dEligOut[k] : 0;
            const gd = G * dhdd;
            d.hebb[k] = G * dhdH;
            d.mod[mi(b, i)] += gd * e;
            d.elig![k] = gd * m + (1 - eta) * dE;
            d.eta![0] += dE * (post * pre - e);
            d.post[bi] += dE * eta * pre;
            d.pre[bj] += dE * eta * post;
            break;
          }
        }
      }
    }
  }
  return d;
}
