#!/usr/bin/env bash
# Makes this machine able to run the etcd tests: a container engine and a local
# etcd image. Idempotent: installs only what is missing, starts dockerd only if
# none answers, builds the image only if it is absent.
#
# Calling convention (from .ci/run or by hand, as root, from any directory):
#
#   bash scripts/ci/setup-etcd-container.sh
#   trap 'bash scripts/ci/stop-docker.sh' EXIT
#
# Sourcing it (`source scripts/ci/setup-etcd-container.sh`) works too: it then
# runs in a child bash (so its `set -euo pipefail` and `exit` never leak into
# the caller) and exports MARCUS_ETCD_IMAGE into the caller when that is unset.
# A non-zero status means the engine or the image is not usable; the message
# on stderr says why.
#
# If this script started dockerd, it writes its pid to $MARCUS_DOCKERD_PIDFILE
# (default /tmp/marcus-dockerd/dockerd.pid) and logs to dockerd.log beside it;
# scripts/ci/stop-docker.sh stops that dockerd and nothing else. A dockerd that
# was already running is reused and left alone.
#
# Environment:
#   MARCUS_DOCKERD_STATE_DIR   where the pid file and log go (default /tmp/marcus-dockerd)
#   MARCUS_DOCKERD_WAIT_S      how long to wait for `docker info` (default 60)
#   MARCUS_ETCD_REBUILD=1      rebuild the image even if it exists

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  bash "${BASH_SOURCE[0]}" "$@" || return $?
  if [[ -z "${MARCUS_ETCD_IMAGE:-}" ]]; then
    MARCUS_ETCD_IMAGE="$(tr -d '[:space:]' < "$(dirname "${BASH_SOURCE[0]}")/../../docker/etcd/image-name")"
    export MARCUS_ETCD_IMAGE
  fi
  return 0
fi

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
state_dir="${MARCUS_DOCKERD_STATE_DIR:-/tmp/marcus-dockerd}"
pidfile="${MARCUS_DOCKERD_PIDFILE:-$state_dir/dockerd.pid}"
logfile="$state_dir/dockerd.log"
wait_s="${MARCUS_DOCKERD_WAIT_S:-60}"
image="$(tr -d '[:space:]' < "$root/docker/etcd/image-name")"

log() { echo "setup-etcd-container: $*"; }
die() { echo "setup-etcd-container: error: $*" >&2; exit 1; }

# 1. Packages: docker.io (dockerd + client) and etcd-server (/usr/bin/etcd).
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[[ -x /usr/bin/etcd ]] || missing+=(etcd-server)
if ((${#missing[@]} > 0)); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the packages' init scripts from starting their daemons (a dockerd with a
  # bridge and iptables rules, an etcd on 2379) that nobody would stop: we start
  # exactly what we need below. policy-rc.d exit 101 = "action forbidden".
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
    trap 'if [[ "$made_policy" == 1 ]]; then rm -f "$policy"; fi' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ "$made_policy" == 1 ]]; then
    rm -f "$policy"
    made_policy=0
  fi
fi
command -v docker >/dev/null 2>&1 || die "no docker client after installing docker.io"

# 2. The engine: reuse one that answers, else start dockerd with no bridge and no
#    iptables rules (tests use host networking on 127.0.0.1 only).
if docker info >/dev/null 2>&1; then
  log "a docker engine is already running; reusing it"
else
  mkdir -p "$state_dir"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "dockerd $(cat "$pidfile") from an earlier run is still starting"
  else
    log "starting dockerd (log: $logfile)"
    nohup dockerd --bridge=none --iptables=false >"$logfile" 2>&1 </dev/null &
    echo $! >"$pidfile"
  fi
  deadline=$((SECONDS + wait_s))
  until docker info >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      rm -f "$pidfile"
      die "dockerd exited during start-up; its log is above (full: $logfile)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$logfile" >&2 || true
      die "dockerd did not answer 'docker info' within ${wait_s}s (log: $logfile); stop it with scripts/ci/stop-docker.sh"
    fi
    sleep 0.5
  done
  log "dockerd $(cat "$pidfile") is up"
fi

# 3. The image, FROM scratch (no registry is reachable to pull a base image).
bash "$root/docker/etcd/build.sh" "$image"
docker run --rm --network host --entrypoint /usr/bin/etcd "$image" --version >/dev/null \
  || die "image $image does not run etcd"
log "ready: image $image"
