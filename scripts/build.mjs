// Builds dist/: one ESM bundle with the WGSL shaders inlined as text, plus type declarations.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/index.ts'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  outfile: 'dist/index.js',
  loader: { '.wgsl': 'text' },
  // Dawn's Node bindings and Node built-ins are loaded at run time, only where they exist.
  external: ['webgpu', 'node:*'],
  sourcemap: true,
});
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
