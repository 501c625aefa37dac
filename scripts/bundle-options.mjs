// What the CLI bundle (build-cli.mjs) and the library bundle (build-lib.mjs)
// share: esbuild options for Node 20 ESM with code splitting, and zod's locales
// left out (the registry never switches locale).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * zod's `locales` namespace (every language but English, which zod imports
 * directly) is replaced by an empty module.
 */
export const withoutZodLocales = {
  name: 'without-zod-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) => (/[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'empty' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

/**
 * proper-lockfile's dependencies, lighter inside our bundles: graceful-fs (which
 * loads Node's streams for its legacy ReadStream) is node:fs itself, and
 * signal-exit's node:assert (which loads streams and net) is the one check it
 * makes. A registrant's first write then loads neither (ADR 0030).
 */
export const lighterLockfile = {
  name: 'lighter-lockfile',
  setup(b) {
    const shims = fileURLToPath(new URL('./shims/', import.meta.url));
    b.onResolve({ filter: /^graceful-fs$/ }, () => ({ path: `${shims}graceful-fs.cjs` }));
    b.onResolve({ filter: /^assert$/ }, (args) => (/[\\/]node_modules[\\/]signal-exit[\\/]/.test(args.importer) ? { path: `${shims}assert-equal.cjs` } : undefined));
  },
};

/**
 * zod is initialised only when a record schema is first built (ADR 0031): a
 * well-formed record never needs one (record.fast-check.ts), and zod's own
 * start-up costs every process that loads it ~1 ms and ~80 KB of young
 * objects. record.schema.js's import of record.zod.js (the only bundled module that
 * imports zod) becomes a require() at the first call: esbuild bundles a module
 * that is require()d, and what only it imports, in lazy wrappers. The build
 * fails if that import line changes. This load replaces importsThroughLoader's
 * for that one file: an import() added there would fail assertNoImportCalls.
 */
export const lazyZod = lazyZodFrom("require('./record.zod.js')");

/** lazy-zod with `source` (an expression) as what gives record.zod.js's exports: the library's bundles take them from a chunk. */
export function lazyZodFrom(source) {
  return {
    name: 'lazy-zod',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/]domain[\\/]record\.schema\.js$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        const line = "import { buildSchemas } from './record.zod.js';\n";
        if (!text.includes(line)) throw new Error(`lazy-zod: ${args.path} no longer has the line ${JSON.stringify(line)}`);
        return { contents: text.replace(line, () => `const buildSchemas = () => ${source}.buildSchemas();\n`), loader: 'js' };
      });
    },
  };
}

/**
 * node:os is loaded when first used, not when the library is imported (ADR
 * 0031): Node does not load it at start-up, and loading it costs every import
 * ~0.4 ms, while only a registrant, a listing's defaults or the monitor call
 * into it. Our modules' imports of node:os get these wrappers instead; a name
 * missing here fails the build (esbuild: no matching export).
 */
export const lazyOs = {
  name: 'lazy-os',
  setup(b) {
    b.onResolve({ filter: /^node:os$/ }, (args) => (/[\\/]dist[\\/]/.test(args.importer) && !/[\\/]node_modules[\\/]/.test(args.importer) ? { path: 'node:os', namespace: 'lazy-os' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-os' }, () => ({
      contents: [
        "const os = () => require('node:os');",
        'export const hostname = () => os().hostname();',
        'export const homedir = () => os().homedir();',
        'export const tmpdir = () => os().tmpdir();',
        'export const networkInterfaces = () => os().networkInterfaces();',
        'export const constants = new Proxy({}, { get: (_, key) => os().constants[key] });',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * Drivers stay outside every bundle: better-sqlite3 (native), etcd3 (gRPC) and
 * ps-list are imported at run time from node_modules (ADR 0006), as is
 * prom-client (the monitor's metrics, imported when first asked for).
 */
export const EXTERNAL = ['better-sqlite3', 'etcd3', 'ps-list', 'prom-client'];

/** Options both bundles use; each adds entryPoints, outdir and chunkNames. */
export function bundleOptions(root) {
  return {
    absWorkingDir: root,
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // CommonJS dependencies (proper-lockfile, graceful-fs) call require(), and read
    // __filename and __dirname as CommonJS modules do.
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
    plugins: [withoutZodLocales, lighterLockfile, lazyZod, lazyOs],
    logLevel: 'warning',
  };
}
