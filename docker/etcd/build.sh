#!/usr/bin/env bash
# Builds the local etcd image FROM scratch out of this machine's /usr/bin/etcd.
#   bash docker/etcd/build.sh [IMAGE]      IMAGE defaults to the name in docker/etcd/image-name
# Needs a running docker daemon. Skips the build when the image already exists
# (set MARCUS_ETCD_REBUILD=1 to force it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
image="${1:-$(tr -d '[:space:]' < "$here/image-name")}"
etcd_bin="${MARCUS_ETCD_BINARY:-/usr/bin/etcd}"

if [[ "${MARCUS_ETCD_REBUILD:-0}" != 1 ]] && docker image inspect "$image" >/dev/null 2>&1; then
  echo "etcd image $image already exists; not rebuilding"
  exit 0
fi
[[ -x "$etcd_bin" ]] || { echo "error: $etcd_bin not found: apt-get install etcd-server" >&2; exit 1; }

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/rootfs/usr/bin" "$context/rootfs/tmp" "$context/rootfs/var/lib/etcd"
cp "$etcd_bin" "$context/rootfs/usr/bin/etcd"

# Every library ldd resolves (`name => /path (addr)`) and the loader (`/path (addr)`),
# copied to the same absolute path, symlinks followed (cp -L).
copied=0
while read -r lib; do
  [[ -n "$lib" && -e "$lib" ]] || continue
  mkdir -p "$context/rootfs$(dirname "$lib")"
  cp -L "$lib" "$context/rootfs$lib"
  copied=$((copied + 1))
done < <(ldd "$etcd_bin" | awk '/=>/ { if ($3 ~ /^\//) print $3; next } $1 ~ /^\// { print $1 }')
if [[ "$copied" -eq 0 ]]; then
  echo "note: $etcd_bin is statically linked; no libraries copied"
fi
cp "$here/Dockerfile" "$context/Dockerfile"

# The classic builder: a FROM scratch image needs no BuildKit and no registry.
if ! out="$(DOCKER_BUILDKIT=0 docker build --tag "$image" "$context" 2>&1)"; then
  echo "$out" >&2
  echo "error: building $image failed" >&2
  exit 1
fi
echo "built etcd image $image ($copied shared libraries)"
