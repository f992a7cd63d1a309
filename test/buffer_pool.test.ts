/**
 * The buffer pool's bookkeeping on a stand-in device (it only creates and destroys buffers): reuse
 * within a size class, oldest first, deferred release (and what may skip its wait), and the caps,
 * where the free buffers released longest ago are the ones destroyed.
 */
import { describe, expect, test } from 'vitest';
import { BufferPool, sizeClass } from '../src/kernels/webgpu/buffer_pool.js';

interface FakeBuffer {
  size: number;
  id: number;
  destroyed: boolean;
  destroy(): void;
}

function fakeDevice(): { device: GPUDevice; created: FakeBuffer[] } {
  const created: FakeBuffer[] = [];
  const createBuffer = ({ size }: { size: number }) => {
    const b: FakeBuffer = { size, id: created.length, destroyed: false, destroy: () => void (b.destroyed = true) };
    created.push(b);
    return b;
  };
  return { device: { createBuffer } as unknown as GPUDevice, created };
}

const KB = 1024;

describe('BufferPool', () => {
  test('a freed buffer serves the next request of its size class, the oldest free one first', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 0);
    const [a, b] = [pool.acquire(KB), pool.acquire(KB)];
    pool.release(b, false);
    pool.release(a, false);
    expect(pool.acquire(KB - 16)).toBe(a); // same class; a was created first
    expect(pool.acquire(KB)).toBe(b);
    expect(created).toHaveLength(2);
    expect(pool.memory()).toEqual({ bytesInUse: 2 * sizeClass(KB), bytesAllocated: 2 * sizeClass(KB), numBuffers: 2 });
  });

  test('a kernel output takes the oldest of the free and the deferred buffers, wherever the submit fell', () => {
    const { device } = fakeDevice();
    const pool = new BufferPool(device, 0);
    const [a, b, c] = [pool.acquire(KB), pool.acquire(KB), pool.acquire(KB)];
    pool.release(b, false); // free
    pool.release(a, true); // deferred, and older than b
    pool.release(c, true); // deferred, newer than b
    expect(pool.acquire(KB, true)).toBe(a);
    expect(pool.acquire(KB, true)).toBe(b);
    expect(pool.acquire(KB, true)).toBe(c);
  });

  test('a deferred release waits for afterSubmit', () => {
    const { device } = fakeDevice();
    const pool = new BufferPool(device, 0);
    const a = pool.acquire(KB);
    pool.release(a, true);
    expect(pool.acquire(KB)).not.toBe(a);
    pool.afterSubmit();
    expect(pool.acquire(KB)).toBe(a);
  });

  test('a kernel output may take a buffer whose deferred release waits for the submit; an upload may not', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 0);
    const a = pool.acquire(KB);
    pool.release(a, true);
    expect(pool.acquire(KB, true)).toBe(a);
    pool.release(a, true);
    expect(pool.acquire(KB, false)).not.toBe(a);
    expect(created).toHaveLength(2);
    pool.afterSubmit(); // a becomes free
    expect(pool.acquire(KB)).toBe(a);
    expect(pool.memory()).toEqual({ bytesInUse: 2 * sizeClass(KB), bytesAllocated: 2 * sizeClass(KB), numBuffers: 2 });
  });

  test('beyond the per-class cap a released buffer is destroyed', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 0, { maxFreePerClass: 2, maxFreeBytes: 1e9, upToPeak: false });
    const bufs = [0, 1, 2].map(() => pool.acquire(KB));
    for (const b of bufs) pool.release(b, false);
    expect(created.map((b) => b.destroyed)).toEqual([false, false, true]);
    expect(pool.memory().numBuffers).toBe(2);
  });

  test('at the byte cap the buffers released longest ago go first, whatever their class', () => {
    const { device, created } = fakeDevice();
    const small = sizeClass(KB);
    const large = sizeClass(4 * KB);
    const pool = new BufferPool(device, 0, { maxFreePerClass: 100, maxFreeBytes: 4 * small + large, upToPeak: false });
    const smalls = [0, 1, 2].map(() => pool.acquire(KB));
    for (const b of smalls) pool.release(b, false);
    const [l1, l2] = [pool.acquire(4 * KB), pool.acquire(4 * KB)];
    pool.release(l1, false); // fits beside the three small ones
    pool.release(l2, false); // over the cap by three small ones: those go, released before l1
    expect(small * 4).toBe(large); // (the arithmetic above)
    expect(created.filter((b) => b.destroyed)).toEqual(smalls);
    // The newcomers stay pooled: the next two large requests create nothing.
    const before = created.length;
    pool.acquire(4 * KB);
    pool.acquire(4 * KB);
    expect(created.length).toBe(before);
    expect(pool.memory().numBuffers).toBe(2);
  });

  test('with upToPeak the byte cap rises to the most bytes ever in use at once', () => {
    const { device, created } = fakeDevice();
    const fixed = new BufferPool(device, 0, { maxFreePerClass: 100, maxFreeBytes: 2 * KB, upToPeak: false });
    const peak = new BufferPool(device, 0, { maxFreePerClass: 100, maxFreeBytes: 2 * KB, upToPeak: true });
    for (const pool of [fixed, peak]) {
      const episode = [0, 1, 2, 3, 4, 5].map(() => pool.acquire(KB)); // 6 KB in use at once
      for (const b of episode) pool.release(b, false);
    }
    expect(fixed.memory().numBuffers).toBe(2); // 2 KB kept, 4 destroyed
    expect(peak.memory().numBuffers).toBe(6); // all kept: the next episode creates nothing
    const before = created.length;
    [0, 1, 2, 3, 4, 5].map(() => peak.acquire(KB));
    expect(created.length).toBe(before);
  });

  test('a buffer larger than the byte cap is destroyed on release, evicting nothing', () => {
    const { device, created } = fakeDevice();
    const pool = new BufferPool(device, 0, { maxFreePerClass: 100, maxFreeBytes: 2 * KB, upToPeak: false });
    const a = pool.acquire(KB);
    pool.release(a, false);
    const big = pool.acquire(64 * KB);
    pool.release(big, false);
    expect(created.map((b) => b.destroyed)).toEqual([false, true]);
    expect(pool.acquire(KB)).toBe(a);
  });
});
