/**
 * The safetensors format (https://github.com/huggingface/safetensors#format), as pure functions on
 * bytes so a browser can use them too:
 *
 *   [u64 little-endian N][N bytes of JSON header, space-padded to a multiple of 8][raw tensor bytes]
 *
 * The header maps each name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to
 * the end of the header) plus an optional "__metadata__" of string → string. Like the reference
 * writer, tensors are laid out by decreasing element size, then by name, so every tensor stays
 * aligned to its element size.
 */
import { sizeOf, type FloatArray } from '../kernels/backend.js';

/** A tensor's values on the host, row-major. */
export interface HostTensor {
  data: FloatArray;
  shape: readonly number[];
}

export interface SafetensorsContent {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
}

type Dtype = 'F64' | 'F32' | 'F16' | 'BF16';

const DTYPE_BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2 };

/** The reference reader refuses headers above 100 MB: a corrupt length must not allocate gigabytes. */
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Serialises tensors (Float32Array → F32, Float64Array → F64) and string metadata. */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Uint8Array {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`safetensors: metadata '${k}' must be a string, got ${typeof v}`);
  }
  const entries = Object.entries(tensors).map(([name, t]) => {
    if (name === '__metadata__') throw new RangeError(`safetensors: '__metadata__' is reserved and cannot name a tensor`);
    if (sizeOf(t.shape) !== t.data.length) {
      throw new RangeError(`safetensors: tensor '${name}' has ${t.data.length} values but shape [${t.shape.join(',')}]`);
    }
    const dtype: Dtype = t.data instanceof Float64Array ? 'F64' : 'F32';
    return { name, t, dtype };
  });
  entries.sort((a, b) => DTYPE_BYTES[b.dtype] - DTYPE_BYTES[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const { name, t, dtype } of entries) {
    const end = offset + t.data.length * DTYPE_BYTES[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  const base = 8 + padded;
  for (const { name, t, dtype } of entries) {
    let p = base + (header[name] as HeaderEntry).data_offsets[0];
    for (const x of t.data) {
      if (dtype === 'F64') view.setFloat64(p, x, true);
      else view.setFloat32(p, x, true);
      p += DTYPE_BYTES[dtype];
    }
  }
  return out;
}

/** Parses safetensors bytes. F64 → Float64Array; F32, F16 and BF16 → Float32Array. */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsContent {
  const fail = (why: string): never => {
    throw new Error(`safetensors: ${why}`);
  };
  if (bytes.length < 8) fail(`file of ${bytes.length} bytes is too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES || 8 + n > bytes.length) fail(`header length ${n} does not fit a file of ${bytes.length} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    return fail(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');

  const { __metadata__: meta = {}, ...entries } = header;
  const metadata = meta as Record<string, string>;
  if (typeof meta !== 'object' || meta === null || Object.values(metadata).some((v) => typeof v !== 'string')) {
    fail('__metadata__ must map strings to strings');
  }

  const base = 8 + n;
  const dataLength = bytes.length - base;
  const tensors: Record<string, HostTensor> = {};
  const spans: [number, number][] = [];
  for (const [name, raw] of Object.entries(entries)) {
    const { dtype, shape, data_offsets: offsets } = raw as HeaderEntry;
    if (!(dtype in DTYPE_BYTES)) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}`);
    const width = DTYPE_BYTES[dtype as Dtype];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has a bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor '${name}' has bad data_offsets`);
    const [begin, end] = offsets;
    if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && 0 <= begin && begin <= end && end <= dataLength)) {
      fail(`tensor '${name}' data_offsets [${begin},${end}] lie outside the ${dataLength} data bytes`);
    }
    const count = sizeOf(shape);
    if (end - begin !== count * width) fail(`tensor '${name}' [${shape.join(',')}] ${dtype} needs ${count * width} bytes, data_offsets give ${end - begin}`);
    spans.push([begin, end]);
    tensors[name] = { data: readValues(view, base + begin, count, dtype as Dtype), shape };
  }
  // The reference reader rejects holes and overlaps: the data must be exactly the tensors, in order.
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end] of spans) {
    if (begin !== covered) fail(`data bytes [${covered},${begin}) are not covered by exactly one tensor`);
    covered = end;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} trailing data bytes belong to no tensor`);
  return { tensors, metadata: { ...metadata } };
}

function readValues(view: DataView, at: number, count: number, dtype: Dtype): FloatArray {
  if (dtype === 'F64') {
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat64(at + 8 * i, true);
    return out;
  }
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(at + 4 * i, true);
    else if (dtype === 'F16') out[i] = halfToFloat(view.getUint16(at + 2 * i, true));
    else out[i] = bf16ToFloat(view, at + 2 * i);
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 is the top half of a float32. */
function bf16ToFloat(view: DataView, at: number): number {
  scratch.setUint32(0, view.getUint16(at, true) << 16);
  return scratch.getFloat32(0);
}

/** IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
