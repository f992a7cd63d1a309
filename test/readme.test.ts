/** The README's usage example runs as written (pitfall: README examples rot; webgpu-torch#13). */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, test, vi } from 'vitest';

test('the README example runs and prints gradients', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = readme.split('## Using it')[1].match(/```ts\n([\s\S]*?)```/)![1];
  const dir = new URL('../.build/readme/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL('example.ts', dir);
  writeFileSync(file, block.replace("from 'backpropamine'", "from '../../src/index.js'"));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  await import(file.href);
  const printed = log.mock.calls.map((c) => c.join(' '));
  log.mockRestore();
  expect(printed[0]).toMatch(/^loss \d/);
  expect(printed[1]).toMatch(/^d loss \/ d alpha\[0, :3\]/);
  // A real gradient: finite and not all zero.
  const etaet = Number(printed[2].split(' ').pop());
  expect(Number.isFinite(etaet)).toBe(true);
});
