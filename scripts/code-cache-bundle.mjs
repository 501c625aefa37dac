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
 */
export function importsThroughLoader(rewrite = () => undefined) {
  return {
    name: 'imports-through-loader',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => ({
        contents: readFileSync(args.path, 'utf8').replace(/\bimport\((\s*)(?:(['"])([^'"]*)\2)?/g, (call, space, quote, specifier) => {
          const mapped = specifier === undefined ? undefined : rewrite(specifier);
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

/** esbuild options for such a bundle: CommonJS, one file, import.meta.url given by the loader. */
export function codeCacheBundleOptions(options) {
  return {
    ...options,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    splitting: false,
    // The loader passes the bundle's own file URL; require, __filename and __dirname are the CommonJS ones.
    define: { 'import.meta.url': '__importMetaUrl' },
    banner: {},
  };
}
