#!/usr/bin/env node
// The `backpropamine` command. esbuild bundles src/cli.ts (with the WGSL shaders as text) into
// .build/ at every start, which takes a fraction of a second and can never run stale code after a
// pull or an edit; the bundle is then imported in this process. esbuild comes with `npm ci`.
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = join(root, '.build', 'backpropamine-cli.mjs');
// Written under a per-process name, then renamed: concurrent runs never import a half-written file.
const tmp = `${outfile}.${process.pid}.mjs`;
await build({
  entryPoints: [join(root, 'src', 'cli.ts')],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: tmp,
  loader: { '.wgsl': 'text' },
  packages: 'external',
  sourcemap: 'inline',
  logLevel: 'warning',
});
renameSync(tmp, outfile);

// Dawn's Vulkan loader wants a runtime directory; headless machines often lack one.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
process.setSourceMapsEnabled(true);
const { main } = await import(pathToFileURL(outfile).href);
// Exit explicitly: a WebGPU instance can keep Node alive after the device is destroyed.
process.exit(await main(process.argv.slice(2)));
