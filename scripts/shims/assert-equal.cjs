// Stands in for node:assert inside signal-exit in our bundles (bundle-options.mjs):
// it only checks that a callback is a function, and node:assert loads Node's
// streams and net (~5 ms of a registrant's start on a 2-core machine).
module.exports = {
  equal(actual, expected, message) {
    if (actual != expected) throw new Error(message);
  },
};
