// Bundles the CLI (`bin`: dist/app/cli/main.js) after tsc has compiled dist/.
// A cold `marcus-registry list` otherwise spends most of its time resolving and
// compiling a few hundred small modules (inversify's packages, zod and its 40+
// locales); one bundle of the tsc output (so decorator metadata stays as tsc
// emits it) starts in about half the time — docs/benchmarks.md has the figures.
// - Only dist/app/cli/main.js is replaced; the library's entry (dist/index.js)
//   is bundled by build-lib.mjs, every other file of dist/ stays as tsc wrote it.
// - Commands and store adapters stay lazy: code splitting keeps each dynamic
//   import() a chunk of its own (dist/app/cli/chunks/), loaded only when used.
// - Drivers stay outside the bundle (see bundle-options.mjs, ADR 0006).
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundleOptions } from './bundle-options.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/app/cli`;

await rm(`${outdir}/chunks`, { recursive: true, force: true });
await build({
  ...bundleOptions(root),
  entryPoints: { main: 'dist/app/cli/main.js' },
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
});
