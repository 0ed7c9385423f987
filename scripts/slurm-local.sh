#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for tests and trials (as root).
#   bash scripts/slurm-local.sh start DIR   # writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   bash scripts/slurm-local.sh stop DIR    # stops the daemons started by `start DIR`
# After start: export SLURM_CONF=DIR/slurm.conf, then sbatch/squeue/scancel work.
# Needs Debian's slurm-wlm and munge (scripts/setup.sh installs them).
set -euo pipefail
cmd="${1:?usage: slurm-local.sh start|stop DIR}"
dir="$(realpath -m "${2:?usage: slurm-local.sh start|stop DIR}")"
case "$cmd" in
start)
  for p in munged slurmctld slurmd; do
    command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || {
      echo "slurm-local: $p not found; install with: apt-get install -y slurm-wlm munge" >&2; exit 2; }
  done
  mkdir -p "$dir"/{spool,state,log,run}
  if ! (munge -n 2>/dev/null | unmunge >/dev/null 2>&1); then
    mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
    if [ ! -s /etc/munge/munge.key ]; then
      dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
    chmod 400 /etc/munge/munge.key
    /usr/sbin/munged --force
    for _ in $(seq 50); do (munge -n | unmunge >/dev/null 2>&1) && break; sleep 0.1; done
  fi
  host="$(hostname -s)"
  cpus="$(nproc)"
  mem="$(awk '/MemTotal/ {print int($2/1024) - 512}' /proc/meminfo)"
  cat >"$dir/slurm.conf" <<CONF
ClusterName=sparqgen-local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  /usr/sbin/slurmctld -f "$dir/slurm.conf"
  /usr/sbin/slurmd -f "$dir/slurm.conf"
  export SLURM_CONF="$dir/slurm.conf"
  for _ in $(seq 100); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo "slurm-local: up ($host, $cpus CPUs); export SLURM_CONF=$dir/slurm.conf"
      exit 0
    fi
    sleep 0.2
  done
  echo "slurm-local: the node did not come up; logs in $dir/log" >&2
  exit 1
  ;;
stop)
  for d in slurmd slurmctld; do
    f="$dir/run/$d.pid"
    if [ -s "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do
    alive=0
    for d in slurmd slurmctld; do
      f="$dir/run/$d.pid"
      [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  ;;
*) echo "usage: slurm-local.sh start|stop DIR" >&2; exit 2 ;;
esac
