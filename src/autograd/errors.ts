/** Errors raised by the autograd layer. Messages name the op, the argument and the shapes. */

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** An argument's shape (or length) does not fit the op. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A disposed tensor was used. */
export class DisposedError extends Error {
  override name = 'DisposedError';
}

/** A loss or parameter holds NaN or Inf. */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

export function shapeError(op: string, arg: string, expected: string, shape: readonly number[]): ShapeError {
  return new ShapeError(`${op}: ${arg} must be ${expected}, got ${fmtShape(shape)}`);
}
