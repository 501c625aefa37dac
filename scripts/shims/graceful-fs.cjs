// Stands in for graceful-fs inside our bundles (bundle-options.mjs): proper-lockfile
// only makes, stats, touches and removes its lock directory (no file descriptors, so
// nothing for graceful-fs's EMFILE queue), and graceful-fs loads Node's streams.
module.exports = process.getBuiltinModule('node:fs');
