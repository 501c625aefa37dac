// What the two code-cached bundles share (the CLI's, build-cli.mjs, and the
// library's, build-lib.mjs; ADR 0024, ADR 0026): each is one CommonJS file run
// by a small loader through `vm.Script` with V8's code cache written at build
// time.
import { readFileSync } from 'node:fs';
import { EXTERNAL } from './bundle-options.mjs';

/**
 * A script run from a code cache loses its dynamic-import hook (Node 20), and
 * the hook itself is experimental there: our import() of what stays outside
 * the bundle (a driver, a node: built-in, or a name computed at run time)
 * becomes __marcusImport(), which the loader supplies (a real import() from
 * the loader, in the same directory). `rewrite(specifier)` may map a specifier
 * to another one loaded the same way (the CLI's MCP SDK modules); every other
 * import() stays: esbuild bundles its module, initialised when first imported.
 * `rewrite` is also given the importing file's path (the library's chunks
 * resolve a relative specifier against it: build-lib.mjs).
 */
export function importsThroughLoader(rewrite = () => undefined) {
  return {
    name: 'imports-through-loader',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => ({
        contents: readFileSync(args.path, 'utf8').replace(/\bimport\((\s*)(?:(['"])([^'"]*)\2)?/g, (call, space, quote, specifier) => {
          const mapped = specifier === undefined ? undefined : rewrite(specifier, args.path);
          if (mapped !== undefined) return `__marcusImport(${space}${quote}${mapped}${quote}`;
          const outside = specifier === undefined || specifier.startsWith('node:') || EXTERNAL.some((pkg) => specifier === pkg || specifier.startsWith(`${pkg}/`));
          return outside ? `__marcusImport(${space}${quote ?? ''}${specifier ?? ''}${quote ?? ''}` : call;
        }),
        loader: 'js',
      }));
    },
  };
}

/** Throws when the bundle still calls import() outside strings: it would fail when run from the code cache. */
export function assertNoImportCalls(file) {
  if (/\bimport\(/.test(readFileSync(file, 'utf8').replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g, '""'))) {
    throw new Error(`${file} still calls import(): it would fail when run from the code cache`);
  }
}

/**
 * The parameters of the function a code-cached bundle is: the loader calls it
 * with the CommonJS ones, the bundle's file URL and its import().
 */
export const BUNDLE_PARAMETERS = 'exports, require, module, __filename, __dirname, __importMetaUrl, __marcusImport';

/**
 * esbuild options for such a bundle: CommonJS, one file, import.meta.url given
 * by the loader. The file is one function expression (the wrapper is written
 * into it, not added by the loader): the loader hands V8 the file's text as
 * read, without building a second 700 KB string around it (assertLoadableBundle).
 */
export function codeCacheBundleOptions(options) {
  return {
    ...options,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    splitting: false,
    // The loader passes the bundle's own file URL; require, __filename and __dirname are the CommonJS ones.
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: { js: `(function (${BUNDLE_PARAMETERS}) {` },
    footer: { js: '})' },
    // Non-ASCII characters escaped (esbuild's default, stated): the loader reads the file as latin1.
    charset: 'ascii',
  };
}

/**
 * Throws unless the bundle is pure ASCII and one function expression: the
 * loaders read it as latin1 (one byte per character, no UTF-8 decoding: the
 * same string for ASCII) and run it as it is.
 */
export function assertLoadableBundle(file) {
  const bytes = readFileSync(file);
  const at = bytes.findIndex((byte) => byte > 0x7f);
  if (at !== -1) throw new Error(`${file}: byte ${at} is not ASCII; the loader reads the bundle as latin1`);
  const text = bytes.toString('latin1');
  if (!text.replace(/^(?:#!.*|\/\/.*)\n/, '').startsWith(`(function (${BUNDLE_PARAMETERS}) {`) || !/\}\)\s*(?:(?:\/\/[^\n]*|\/\*[\s\S]*?\*\/)\s*)*$/.test(text)) {
    throw new Error(`${file}: not one function expression (the banner and footer of codeCacheBundleOptions)`);
  }
}

/**
 * A loader's text (scripts/cli-loader.mjs, scripts/lib-loader.mjs) as it is
 * shipped: what both share (scripts/bundle-reader.js) put at its
 * `// @bundle-reader` line.
 */
export function loaderSource(loaderFile) {
  const loader = readFileSync(loaderFile, 'utf8');
  const reader = readFileSync(new URL('./bundle-reader.js', import.meta.url), 'utf8');
  const marker = /^\/\/ @bundle-reader\n/m;
  if (!marker.test(loader)) throw new Error(`${loaderFile}: no \`// @bundle-reader\` line`);
  return loader.replace(marker, () => reader);
}
