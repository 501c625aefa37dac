// What both loaders of a code-cached bundle (cli-loader.mjs, lib-loader.mjs) share: the build puts
// this file where a loader says `// @bundle-reader`. It reads the bundle's text and its code cache,
// and gives the bundle Node's built-ins as its require().

/** Reads `size` bytes of `fd` (fewer at its end) into `buffer` from its start; the count read. */
function readInto(fd, buffer, size) {
  const { readSync } = process.getBuiltinModule('node:fs');
  let done = 0;
  for (let got = -1; done < size && got !== 0; done += got) got = readSync(fd, buffer, done, size - done, done);
  return done;
}

/**
 * The bundle's text and its code cache (undefined without one: V8 then compiles
 * as usual), read through one buffer: the text is copied out into a string,
 * then the cache is read over it. Each page a process touches for the first
 * time costs it a page fault (~10 µs on a small VM), and each file is some
 * 300–450 KB. The bundle is one function expression, in ASCII (build:
 * assertLoadableBundle): read as latin1, the file's text goes to V8 as it is,
 * without UTF-8 decoding or a second string built around it.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the loader this is put in
function readBundle(bundlePath, cachePath) {
  const { closeSync, fstatSync, openSync } = process.getBuiltinModule('node:fs');
  const bundleFd = openSync(bundlePath, 'r');
  try {
    const bundleSize = fstatSync(bundleFd).size;
    const cache = openCache(cachePath, bundleSize);
    try {
      const buffer = Buffer.allocUnsafeSlow(Math.max(bundleSize, cache?.size ?? 0));
      const source = buffer.toString('latin1', 0, readInto(bundleFd, buffer, bundleSize));
      if (cache === undefined) return { source, cachedData: undefined };
      try {
        return { source, cachedData: buffer.subarray(0, readInto(cache.fd, buffer, cache.size)) };
      } catch {
        // a cache that cannot be read (an I/O error): compile as usual
        return { source, cachedData: undefined };
      }
    } finally {
      if (cache !== undefined) closeSync(cache.fd);
    }
  } finally {
    closeSync(bundleFd);
  }
}

/**
 * The code cache's descriptor and size, or undefined (compile as usual) when it
 * is missing, not a regular file or far larger than any cache of this bundle
 * (a cache is about the bundle's size: a planted or sparse giant is not read).
 */
function openCache(cachePath, bundleSize) {
  const { closeSync, fstatSync, openSync } = process.getBuiltinModule('node:fs');
  let fd;
  try {
    fd = openSync(cachePath, 'r');
    const stats = fstatSync(fd);
    if (stats.isFile() && stats.size <= 4 * bundleSize + (1 << 20)) return { fd, size: stats.size };
  } catch {
    // no cache (a build without it)
  }
  if (fd !== undefined) closeSync(fd);
  return undefined;
}

/**
 * The bundle's require(): it require()s only Node's built-ins (what it does not
 * bundle, it import()s), taken here without node:module's createRequire, which
 * loads Node's source-map support first.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- called by the loader this is put in
function builtinRequire(bundlePath) {
  return (id) => process.getBuiltinModule(id) ?? process.getBuiltinModule('node:module').createRequire(bundlePath)(id);
}
