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
  let cacheFd;
  try {
    cacheFd = openSync(cachePath, 'r');
  } catch {
    // no cache (a build without it)
  }
  try {
    const bundleFd = openSync(bundlePath, 'r');
    let buffer;
    let source;
    try {
      const bundleSize = fstatSync(bundleFd).size;
      buffer = Buffer.allocUnsafeSlow(Math.max(bundleSize, cacheFd === undefined ? 0 : fstatSync(cacheFd).size));
      source = buffer.toString('latin1', 0, readInto(bundleFd, buffer, bundleSize));
    } finally {
      closeSync(bundleFd);
    }
    if (cacheFd === undefined) return { source, cachedData: undefined };
    try {
      return { source, cachedData: buffer.subarray(0, readInto(cacheFd, buffer, buffer.length)) };
    } catch {
      // a cache that cannot be read (a directory, an I/O error): compile as usual
      return { source, cachedData: undefined };
    }
  } finally {
    if (cacheFd !== undefined) closeSync(cacheFd);
  }
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
