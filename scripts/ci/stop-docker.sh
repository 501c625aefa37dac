#!/usr/bin/env bash
# Stops the dockerd that scripts/ci/setup-etcd-container.sh started, and nothing
# else: no pid file means it reused an engine that was already running (or
# nothing was started), so there is nothing to stop. Safe to call twice.
#
#   bash scripts/ci/stop-docker.sh
set -euo pipefail

state_dir="${MARCUS_DOCKERD_STATE_DIR:-/tmp/marcus-dockerd}"
pidfile="${MARCUS_DOCKERD_PIDFILE:-$state_dir/dockerd.pid}"
wait_s="${MARCUS_DOCKERD_STOP_WAIT_S:-30}"

[[ -f "$pidfile" ]] || exit 0
pid="$(cat "$pidfile")"
if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid"
  deadline=$((SECONDS + wait_s))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      echo "stop-docker: dockerd $pid ignored SIGTERM for ${wait_s}s; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  echo "stop-docker: stopped dockerd $pid"
fi
rm -f "$pidfile"
