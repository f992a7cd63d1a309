import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    {
      // Load shaders/*.wgsl as text, as esbuild's text loader does for dist/.
      name: 'wgsl-as-text',
      transform(_code: string, id: string) {
        if (!id.endsWith('.wgsl')) return null;
        return { code: `export default ${JSON.stringify(readFileSync(id, 'utf8'))};`, map: null };
      },
    },
  ],
  test: {
    include: ['test/**/*.test.ts'],
    // The JSON report lets .ci/run count results and fail when a WGSL suite was skipped.
    reporters: ['default', 'json'],
    outputFile: { json: '.build/test-results.json' },
    // One Dawn device per worker process; files share nothing across processes.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
