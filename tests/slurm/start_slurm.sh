#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost for tests/test_slurm.py.
#
#   sudo bash tests/slurm/start_slurm.sh     # idempotent; prints how to stop it
#   sudo bash tests/slurm/stop_slurm.sh
#
# Needs root and Debian's packages (slurm-wlm, munge: installed with apt-get when
# missing). Works without systemd: the daemons are started directly. State, logs and
# the generated slurm.conf live in $DFIM_SLURM_DIR (default /tmp/dfim-slurm);
# /etc/slurm/slurm.conf becomes a symlink to that slurm.conf so that sinfo, sbatch,
# squeue and the Snakemake SLURM plugin find it without SLURM_CONF.
#
# The cluster has no accounting database (accounting_storage/none): `sacct` does not
# work, so Snakemake must be told `--slurm-status-command squeue`. MinJobAge is one
# hour, so squeue keeps listing finished jobs (their state and exit code), and
# jobcomp/filetxt writes one line per finished job to $DFIM_SLURM_DIR/jobcomp.log.
#
# Environment:
#   DFIM_SLURM_DIR        state directory (default /tmp/dfim-slurm)
#   DFIM_SLURM_PARTITION  partition name (default "normal", as in profiles/slurm)
#   DFIM_SLURM_TIMEOUT    seconds to wait for the node to become idle (default 60)
set -euo pipefail

STATE=${DFIM_SLURM_DIR:-/tmp/dfim-slurm}
PARTITION=${DFIM_SLURM_PARTITION:-normal}
TIMEOUT=${DFIM_SLURM_TIMEOUT:-60}
CONF=/etc/slurm/slurm.conf
MARKER="# dfim localhost SLURM: written by tests/slurm/start_slurm.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

say() { echo "start_slurm: $*"; }
die() { echo "start_slurm: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts slurmd as root)"

# --- 1. packages -----------------------------------------------------------------
missing=()
for cmd in munged munge unmunge slurmctld slurmd sinfo sbatch squeue scontrol; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "missing ${missing[*]}: installing Debian's slurm-wlm and munge"
  # Keep package scripts from starting daemons (slurmctld would fail without a
  # config, and there may be no init system): policy-rc.d 101 = "not now".
  added_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# --- 2. munge --------------------------------------------------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already answers: reusing it"
else
  id munge >/dev/null 2>&1 || adduser --quiet --system --group --no-create-home --home /nonexistent munge
  mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
  fi
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
  chmod 0700 /etc/munge /var/log/munge
  chmod 0400 /etc/munge/munge.key
  chmod 0711 /var/lib/munge
  chmod 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
  mkdir -p "$STATE"
  cp /run/munge/munged.pid "$STATE/munged.pid"   # stop_slurm.sh stops only a munged we started
  say "munged started (pid $(cat "$STATE/munged.pid"))"
fi

# --- 3. slurm.conf ---------------------------------------------------------------
NODE=$(hostname -s)
[ -n "$NODE" ] || die "hostname -s is empty"
# `slurmd -C` prints this machine's CPUs, sockets, cores, threads and RealMemory.
HW=$(slurmd -C | head -1 | sed -e 's/^NodeName=[^ ]* //')
echo "$HW" | grep -q "RealMemory=" || die "could not read the hardware from 'slurmd -C': $HW"
mkdir -p "$STATE/ctld" "$STATE/d"
chmod 0755 "$STATE"
NEW=$(mktemp)
cat > "$NEW" <<EOF
$MARKER
# One node on localhost, no accounting database. Stop: bash $HERE/stop_slurm.sh
ClusterName=dfim
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Finished jobs stay visible to squeue for an hour (the plugin's squeue status mode).
MinJobAge=3600
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 $HW State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
  rm -f "$NEW"
  die "$CONF exists and was not written by this script; not touching a real SLURM set-up"
fi

# A pid file ($1) whose process is alive and is the daemon $2 (pids get reused).
pid_alive() { [ -s "$1" ] && [ "$(cat /proc/"$(cat "$1")"/comm 2>/dev/null)" = "$2" ]; }

if [ -f "$STATE/slurm.conf" ] && cmp -s "$NEW" "$STATE/slurm.conf"; then
  rm -f "$NEW"
else
  if pid_alive "$STATE/slurmctld.pid" slurmctld || pid_alive "$STATE/slurmd.pid" slurmd; then
    say "configuration changed: restarting the SLURM daemons"
    DFIM_SLURM_RESTART=1 bash "$HERE/stop_slurm.sh" >/dev/null
  fi
  mv "$NEW" "$STATE/slurm.conf"
  chmod 0644 "$STATE/slurm.conf"
fi
mkdir -p /etc/slurm
ln -sfn "$STATE/slurm.conf" "$CONF"

# --- 4. daemons ------------------------------------------------------------------
if pid_alive "$STATE/slurmctld.pid" slurmctld; then
  say "slurmctld already running (pid $(cat "$STATE/slurmctld.pid"))"
else
  slurmctld
  say "slurmctld started"
fi
if pid_alive "$STATE/slurmd.pid" slurmd; then
  say "slurmd already running (pid $(cat "$STATE/slurmd.pid"))"
else
  slurmd -N "$NODE"
  say "slurmd started"
fi

# --- 5. wait for the node ----------------------------------------------------------
deadline=$((SECONDS + TIMEOUT))
state=""
while [ $SECONDS -lt $deadline ]; do
  state=$(sinfo -h -n "$NODE" -p "$PARTITION" -o %t 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mix|alloc) break ;;
    drain*|drng|down*)
      scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 1
done
case "$state" in
  idle|mix|alloc) ;;
  *)
    echo "--- slurmctld.log" >&2; tail -20 "$STATE/slurmctld.log" >&2 || true
    echo "--- slurmd.log" >&2; tail -20 "$STATE/slurmd.log" >&2 || true
    die "node $NODE is '${state:-not listed}' after ${TIMEOUT}s" ;;
esac

sinfo -p "$PARTITION"
cat <<EOF
start_slurm: SLURM is up: node $NODE ($HW), partition '$PARTITION'.
start_slurm: state and logs in $STATE (finished jobs: $STATE/jobcomp.log)
start_slurm: run the test:  DFIM_SLURM_TEST=1 .venv/bin/python -m pytest -q tests/test_slurm.py
start_slurm: stop it with:  bash $HERE/stop_slurm.sh
EOF
