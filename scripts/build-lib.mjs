// Bundles the library's entry (`exports["."]`: dist/index.js) after tsc has
// compiled dist/, as build-cli.mjs bundles the bin (ADR 0024). Importing the
// tsc output loads about 390 module files (245 of them inversify's); one
// bundle loads and compiles in a fraction of that time.
// - Only dist/index.js is replaced; the type declarations (dist/**/*.d.ts) and
//   every other file of dist/ stay as tsc wrote them, so `types` and the
//   `exports` map are unchanged.
// - What a caller may never need stays lazy: each dynamic import() (store
//   adapters, the liveness probe, the monitor's server) is a chunk of its own
//   in dist/chunks/, loaded when first used.
// - Drivers stay outside the bundle (see bundle-options.mjs, ADR 0006).
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist`;

await rm(`${outdir}/chunks`, { recursive: true, force: true });
await build({
  ...bundleOptions(root),
  entryPoints: { index: 'dist/index.js' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
});
