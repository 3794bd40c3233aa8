#!/usr/bin/env bash
# Stop the localhost SLURM started by tests/slurm/start_slurm.sh: cancel its jobs,
# stop slurmd and slurmctld (by their pid files), stop munged if start_slurm.sh
# started it, and remove the /etc/slurm/slurm.conf symlink. Logs stay in
# $DFIM_SLURM_DIR (default /tmp/dfim-slurm); pass --clean to delete that folder too.
# Safe to run when nothing is running. (start_slurm.sh sets DFIM_SLURM_RESTART=1 when
# it restarts the daemons for a new slurm.conf: munged and the symlink then stay.)
set -uo pipefail

STATE=${DFIM_SLURM_DIR:-/tmp/dfim-slurm}
CONF=/etc/slurm/slurm.conf
MARKER="# dfim localhost SLURM: written by tests/slurm/start_slurm.sh"
CLEAN=0
[ "${1:-}" = "--clean" ] && CLEAN=1

say() { echo "stop_slurm: $*"; }

# Stop the process whose pid is in file $1, if its command name is $2.
stop_pid() {
  local file=$1 name=$2 pid
  [ -s "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null && [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "$name" ]; then
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name ($pid) did not stop on SIGTERM: SIGKILL"
      kill -9 "$pid" 2>/dev/null
    fi
    say "stopped $name ($pid)"
  fi
  rm -f "$file"
}

ours=0
if [ -e "$CONF" ] && grep -qF "$MARKER" "$CONF" 2>/dev/null; then ours=1; fi

if [ "$ours" = 1 ] && [ -s "$STATE/slurmctld.pid" ] && kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
  jobs=$(squeue -h -t PENDING,RUNNING,CONFIGURING,COMPLETING -o %i 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    say "cancelling jobs $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null
    for _ in $(seq 30); do
      [ -z "$(squeue -h -t RUNNING,COMPLETING -o %i 2>/dev/null)" ] && break
      sleep 1
    done
  fi
fi

stop_pid "$STATE/slurmd.pid" slurmd
stop_pid "$STATE/slurmctld.pid" slurmctld
if [ "${DFIM_SLURM_RESTART:-0}" != 1 ]; then
  stop_pid "$STATE/munged.pid" munged
fi

if [ "$ours" = 1 ] && [ "${DFIM_SLURM_RESTART:-0}" != 1 ]; then
  rm -f "$CONF"
  say "removed $CONF"
fi
if [ "$CLEAN" = 1 ]; then
  rm -rf "$STATE"
  say "removed $STATE"
elif [ -d "$STATE" ]; then
  say "logs kept in $STATE"
fi
exit 0
