/**
 * Explicit lifetimes (tfjs's tidy/keep/dispose): GPU memory is never left to the garbage collector.
 *
 * Every tensor created inside `tidy(fn)` is disposed when `fn` returns, except the tensors it
 * returns (which move to the enclosing scope) and those passed to `keep`. `noGrad(fn)` runs `fn`
 * without recording a graph.
 */
import type { Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];
let gradEnabled = true;

/** Called by the Tensor constructor: the innermost scope takes ownership. */
export function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** Removes `t` from every scope, so no `tidy` disposes it. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

type Tensors = Tensor | (Tensor | null)[] | { [key: string]: Tensor } | void;

function collect(result: Tensors): Tensor[] {
  if (result === undefined) return [];
  if (Array.isArray(result)) return result.filter((t): t is Tensor => t !== null);
  if (isTensor(result)) return [result];
  return Object.values(result);
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'shape' in x && 'dispose' in x;
}

/**
 * Runs `fn` and disposes every tensor it created, except what it returns or keeps.
 * `fn` must be synchronous: an `await` inside would let other work leak into this scope.
 */
export function tidy<T extends Tensors>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: fn must be synchronous (it returned a Promise); await outside tidy');
  } finally {
    scopes.pop();
  }
  const survivors = new Set(collect(result));
  for (const t of scope) if (!survivors.has(t)) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of survivors) if (scope.has(t)) parent.add(t);
  return result;
}

/** Disposes a tensor or a collection of tensors. */
export function dispose(x: Tensors): void {
  for (const t of collect(x)) t.dispose();
}

/** Runs `fn` without recording operations for backward. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}
