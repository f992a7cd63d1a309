/**
 * Checkpoints: tensors and string metadata in one safetensors file, written atomically.
 *
 * The file is written to a temp name beside the target, fsynced, then renamed over it; rename is
 * atomic on POSIX and NTFS, so a crash at any point leaves either the previous checkpoint or the
 * new one, never a torn file. Optimizer and RNG state travel as JSON strings in the metadata.
 * `node:fs/promises` is imported on first use, so bundling this module for a browser works (the
 * functions themselves need Node).
 */
import { decodeSafetensors, encodeSafetensors, type HostTensor, type SafetensorsContent } from './safetensors.js';
import type { Tensor } from './tensor.js';

export interface SaveCheckpointOptions {
  /**
   * Runs after the temp file is written and synced, just before the rename. Tests use it to
   * simulate a crash at the worst moment.
   */
  beforeRename?: (tmpPath: string) => void | Promise<void>;
}

/**
 * Saves `tensors` (read back from the device in their backend's precision: F32, or F64 on the
 * f64 CPU backend) and `metadata` to `path`, replacing any previous file atomically.
 */
export async function saveCheckpoint(
  path: string,
  tensors: Record<string, Tensor>,
  metadata: Record<string, string> = {},
  opts: SaveCheckpointOptions = {},
): Promise<void> {
  const host: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(tensors)) host[name] = { data: await t.data(), shape: t.shape };
  await writeFileAtomic(path, encodeSafetensors(host, metadata), opts);
}

/** Reads a checkpoint written by `saveCheckpoint` (or any safetensors file of float tensors). */
export async function loadCheckpoint(path: string): Promise<SafetensorsContent> {
  const fs = await import('node:fs/promises');
  return decodeSafetensors(await fs.readFile(path));
}

async function writeFileAtomic(path: string, bytes: Uint8Array, opts: SaveCheckpointOptions): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname } = await import('node:path');
  // Unique per process and call, so concurrent savers never share a temp file.
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync(); // the data must be on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await opts.beforeRename?.(tmp);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  // Persist the rename itself (POSIX needs the directory synced). Windows cannot open a
  // directory for sync; NTFS journals the rename instead.
  if (process.platform !== 'win32') {
    const dir = await fs.open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}
