// Bundles the CLI (`bin`: dist/app/cli/main.js) after tsc has compiled dist/.
// A cold `marcus-registry list` otherwise spends most of its time resolving and
// compiling a few hundred small modules (inversify's packages, zod and its 40+
// locales); one bundle of the tsc output (so decorator metadata stays as tsc
// emits it) starts in about half the time — docs/benchmarks.md has the figures.
// - Only dist/app/cli/main.js is replaced; every other file of dist/ (the
//   library's exports) stays as tsc wrote it.
// - Commands and store adapters stay lazy: code splitting keeps each dynamic
//   import() a chunk of its own (dist/app/cli/chunks/), loaded only when used.
// - Drivers stay outside the bundle: better-sqlite3 (native), etcd3 (gRPC) and
//   ps-list are imported at run time from node_modules, as before (ADR 0006).
// - zod's `locales` namespace (every language but English, which zod imports
//   directly) is replaced by an empty module: the registry never switches locale.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/app/cli`;

const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

await rm(`${outdir}/chunks`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'dist/app/cli/main.js' },
  outdir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['better-sqlite3', 'etcd3', 'ps-list'],
  // CommonJS dependencies (proper-lockfile, graceful-fs, write-file-atomic) call
  // require(); write-file-atomic hashes __filename into its temp file names.
  banner: {
    js: [
      "import { createRequire as __bundleRequire } from 'node:module';",
      "import { fileURLToPath as __bundlePath } from 'node:url';",
      'const require = __bundleRequire(import.meta.url);',
      'const __filename = __bundlePath(import.meta.url);',
      "const __dirname = __bundlePath(new URL('.', import.meta.url));",
    ].join(' '),
  },
  minifySyntax: true,
  minifyWhitespace: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  plugins: [withoutZodLocales],
  logLevel: 'warning',
});
