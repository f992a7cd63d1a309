// Runs a TypeScript entry point (demo, bench, CLI): esbuild bundles it with the WGSL shaders as
// text into .build/, then Node runs the bundle with the remaining arguments.
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { build } from 'esbuild';

const [entry, ...args] = process.argv.slice(2);
const outfile = `.build/${basename(entry).replace(/\.ts$/, '.mjs')}`;
await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile,
  loader: { '.wgsl': 'text' },
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
const env = { XDG_RUNTIME_DIR: '/tmp', ...process.env };
const { status } = spawnSync(process.execPath, ['--enable-source-maps', outfile, ...args], { stdio: 'inherit', env });
process.exit(status ?? 1);
