#!/usr/bin/env bash
# Installs the packed tarball into an empty folder, as a user would, and runs
# `npx marcus-registry list --json` against an empty registry: it must print [].
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
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
if [[ -d node_modules/better-sqlite3 || -d node_modules/etcd3 ]]; then
  echo "pack smoke test: optional drivers were installed by default" >&2
  exit 1
fi
echo "pack smoke test: ok ($tarball)"
