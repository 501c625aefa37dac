#!/usr/bin/env bash
# Installs the packed tarball into an empty folder, as a user would, and runs
# `npx marcus-registry list --json` against an empty registry: it must print [].
# Then installs it globally into a temporary prefix (the README's install), and
# runs the README's Claude Desktop config line from there through an MCP SDK
# client against a fixture server a `run` registered.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$root"
tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
mkdir -m 700 "$work/app" "$work/registry"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$tarball"
out="$(MARCUS_REGISTRY_DIR="$work/registry" npx --no-install marcus-registry list --json)"
if [[ "$out" != "[]" ]]; then
  echo "pack smoke test: expected [] from an empty registry, got: $out" >&2
  exit 1
fi
# The library entry point loads and the optional drivers stay optional.
node --input-type=module -e "import { createRegistry } from 'marcus-registry'; const r = await createRegistry({ store: 'json:$work/registry' }); console.log((await r.discover()).length); await r.close();" | grep -qx 0
# An application that bundles its server: the bundler takes exports["."].module (tsc's
# modules; Node's entry reads a bundle at run time that a bundler cannot follow, ADR 0026).
cat > bundled-app.mjs <<EOF_APP
import { createRegistry } from 'marcus-registry';
createRegistry({ store: 'json:$work/bundled-registry' }).then(async (registry) => {
  await registry.register({ mcpCommand: 'node server.js', projectName: 'bundled' });
  console.log((await registry.discover()).map((r) => r.project_name).join(','));
  await registry.close();
});
EOF_APP
"$root/node_modules/.bin/esbuild" bundled-app.mjs --bundle --platform=node --format=cjs --log-level=error \
  --external:better-sqlite3 --external:etcd3 --external:ps-list --external:prom-client --outfile=bundled-app.cjs
grep -q 'lib.bundle.cjs' bundled-app.cjs && { echo "pack smoke test: the bundler took Node's entry (the loader), not exports[\".\"].module" >&2; exit 1; }
# The modules behind that condition are ES modules Node itself can load (no package.json in dist/ says otherwise).
node --input-type=module -e "const m = await import('$work/app/node_modules/marcus-registry/dist/index.modules.js'); if (typeof m.ConnectionFailedError !== 'function') process.exit(1);"
mkdir -m 700 "$work/bundled-registry"
[[ "$(node bundled-app.cjs)" == "bundled" ]] || { echo "pack smoke test: a bundled application could not register and discover" >&2; exit 1; }
if [[ -d node_modules/better-sqlite3 || -d node_modules/etcd3 ]]; then
  echo "pack smoke test: optional drivers were installed by default" >&2
  exit 1
fi

# The README's install: npm install -g (here into a temporary prefix) puts marcus-registry on PATH.
npm install -g --prefix "$work/prefix" --no-audit --no-fund --silent "$work/$tarball"
bin="$work/prefix/bin"
[[ -x "$bin/marcus-registry" ]] || { echo "pack smoke test: npm install -g put no marcus-registry in $bin" >&2; exit 1; }
"$bin/marcus-registry" --version
export MARCUS_REGISTRY_DIR="$work/registry"
# A registered stdio server (project X, as the README's config line asks): connect starts it from its argv.
"$bin/marcus-registry" run --project X --mcp-arg=node "--mcp-arg=$root/test/fixtures/fixture-stdio-server.mjs" --mcp-arg=smoke -- sleep 300 &
pids+=("$!")
for _ in $(seq 1 200); do
  [[ "$("$bin/marcus-registry" list -q --project X)" != "" ]] && break
  sleep 0.1
done
cd "$root"
node scripts/ci/mcp-config-smoke.mjs "$bin" smoke
echo "pack smoke test: ok ($tarball)"
