#!/usr/bin/env bash
# Slurm integration test for `tsgd slurm --submit`.
#
#   tests/slurm/run_slurm_test.sh TSGD_BINARY SOURCE_DIR
#
# Starts a private single-node Slurm cluster on localhost (slurmctld + slurmd as
# root, auth/none, everything under a temporary directory, free ports), submits
# a small CPU experiment as a 4-task array job plus its merge job with
# `tsgd slurm ... --submit`, waits for both, and checks that the merged result
# files are byte-identical to those of an unsharded `tsgd run`.
#
# Installs slurmctld, slurmd and slurm-client from Debian when they are missing.
# Exit status: 0 pass, 1 fail, 77 skip (Slurm cannot be installed or started;
# with CI=true that is a failure instead).
#
# Environment: TSGD_SLURM_JOB_TIMEOUT (seconds to wait for the jobs, default 300),
# TSGD_SLURM_KEEP=1 keeps the temporary directory.
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 TSGD_BINARY SOURCE_DIR" >&2
  exit 2
fi
TSGD=$(readlink -f "$1")
SOURCE_DIR=$(readlink -f "$2")
JOB_TIMEOUT=${TSGD_SLURM_JOB_TIMEOUT:-300}
START=$SECONDS

fail() {
  echo "FAIL: slurm_integration: $*" >&2
  exit 1
}
# Slurm is unavailable: skip, except in CI where it must run.
unavailable() {
  if [[ "${CI:-}" == "true" ]]; then
    echo "FAIL: slurm_integration: Slurm unavailable in CI: $*" >&2
    exit 1
  fi
  echo "SKIP: slurm_integration: $*" >&2
  exit 77
}

[[ -x "$TSGD" ]] || fail "tsgd binary not found or not executable: $1"
[[ -d "$SOURCE_DIR" ]] || fail "source directory not found: $2"

# ---------------------------------------------------------------- install
missing=()
for tool in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client squeue:slurm-client sinfo:slurm-client scontrol:slurm-client; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  [[ $(id -u) -eq 0 ]] || unavailable "Slurm is not installed ($packages) and we are not root"
  command -v apt-get >/dev/null 2>&1 || unavailable "Slurm is not installed ($packages) and there is no apt-get"
  echo "installing $packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $packages; } >/tmp/tsgd-slurm-apt.$$.log 2>&1; then
    tail -n 20 /tmp/tsgd-slurm-apt.$$.log >&2
    rm -f /tmp/tsgd-slurm-apt.$$.log
    unavailable "apt-get install $packages failed"
  fi
  rm -f /tmp/tsgd-slurm-apt.$$.log
  hash -r
fi
[[ $(id -u) -eq 0 ]] || unavailable "the test cluster runs its daemons as root; run as root"

# ---------------------------------------------------------------- cluster
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tsgd-slurm.XXXXXX") || fail "mktemp failed"
chmod 755 "$TMP"
CONF=$TMP/slurm.conf
DAEMON_PIDS=()
CLUSTER_STARTED=0

cleanup() {
  local rc=$?
  if ((CLUSTER_STARTED)); then
    # Cancel whatever is left of our jobs (only this private controller is asked).
    timeout 10 scancel --quiet --user=root >/dev/null 2>&1 || true
  fi
  local pids=() p
  for f in "$TMP/slurmd.pid" "$TMP/slurmctld.pid"; do
    [[ -s $f ]] && pids+=("$(cat "$f")")
  done
  pids+=("${DAEMON_PIDS[@]}")
  for p in "${pids[@]}"; do
    [[ $p =~ ^[0-9]+$ ]] && kill -TERM "$p" 2>/dev/null
  done
  for _ in $(seq 50); do
    local alive=0
    for p in "${pids[@]}"; do
      [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    [[ $p =~ ^[0-9]+$ ]] && kill -KILL "$p" 2>/dev/null
  done
  if [[ "${TSGD_SLURM_KEEP:-}" == 1 ]]; then
    echo "kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nobody listens on (another instance of this test may be running).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port_pair() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if port_free "$p" && port_free $((p + 1)); then
      echo "$p"
      return 0
    fi
  done
  return 1
}
CTLD_PORT=$(pick_port_pair) || unavailable "no free TCP port pair found"
SLURMD_PORT=$((CTLD_PORT + 1))
CPUS=$(nproc)
CLUSTER="tsgdtest$$"

cat >"$CONF" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
DependencyParameters=kill_invalid_depend
ReturnToService=2
MinJobAge=600
MaxArraySize=1001
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=512 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
mkdir -p "$TMP/state" "$TMP/spool"
export SLURM_CONF=$CONF
# Make sure nothing in the caller's environment points sbatch elsewhere.
unset SLURM_JOB_ID SLURM_ARRAY_JOB_ID SLURM_ARRAY_TASK_ID SLURM_CLUSTERS SBATCH_PARTITION SLURM_PARTITION

show_logs() {
  for f in "$TMP/slurmctld.log" "$TMP/slurmd.log" "$TMP/slurmctld.out" "$TMP/slurmd.out"; do
    [[ -s $f ]] && { echo "--- $f (tail)" >&2; tail -n 25 "$f" >&2; }
  done
}

# -D keeps them in the foreground (no double fork), -i ignores state files
# (there are none), -c starts clean; they still write their pid files.
CLUSTER_STARTED=1
slurmctld -D -c -i -f "$CONF" >"$TMP/slurmctld.out" 2>&1 &
DAEMON_PIDS+=($!)
slurmd -D -N localhost -f "$CONF" >"$TMP/slurmd.out" 2>&1 &
DAEMON_PIDS+=($!)

ready=0
for _ in $(seq 60); do
  for p in "${DAEMON_PIDS[@]}"; do
    kill -0 "$p" 2>/dev/null || { show_logs; unavailable "a Slurm daemon exited at start-up (logs above)"; }
  done
  state=$(timeout 5 sinfo --noheader --nodes=localhost --format=%t 2>/dev/null | head -n 1)
  if [[ $state == idle ]]; then
    ready=1
    break
  fi
  sleep 1
done
((ready)) || { show_logs; unavailable "the node did not become idle within 60 s (state: '${state:-none}')"; }
echo "slurm cluster $CLUSTER up on ports $CTLD_PORT/$SLURMD_PORT ($CPUS CPUs) after $((SECONDS - START)) s" >&2

# ---------------------------------------------------------------- the experiment
CONFIG=$TMP/slurm_test.json
cat >"$CONFIG" <<'EOF'
{
  "name": "slurm_test",
  "model": {"teacher_activation": "erf", "student_activation": "erf", "N": [40, 50], "M": 2, "K": [1, 2]},
  "training": {"lr": 0.3, "alpha": 2},
  "seeds": {"count": 2},
  "record": {"points": 8},
  "simulate": {"backend": "cpu"},
  "ode": {"enabled": true}
}
EOF

cd "$TMP" || fail "cd $TMP"
# The resource flags as Slurm must take them: each task 30 min and 100 MB (the
# node has 512 MB), an extra line, the merge job its own 10 min.
submit_out=$("$TSGD" slurm "$CONFIG" --tasks 4 --output "$TMP/sharded" --time 30 --mem 100M \
  --sbatch "--comment=tsgd-array" --merge-time 10 --submit 2>&1)
rc=$?
echo "$submit_out"
((rc == 0)) || fail "tsgd slurm --submit exited $rc"
[[ $submit_out == *"per task: about"* ]] || fail "tsgd slurm printed no per-task estimate"
for line in '#SBATCH --time=30' '#SBATCH --mem=100M' '#SBATCH --comment=tsgd-array'; do
  grep -qxF -- "$line" "$TMP/sharded/slurm/array.sbatch" || fail "array.sbatch lacks: $line"
done
grep -qxF -- '#SBATCH --time=10' "$TMP/sharded/slurm/merge.sbatch" || fail "merge.sbatch lacks its own --time"
if grep -q -- 'gpu\|--mem\|--comment' "$TMP/sharded/slurm/merge.sbatch"; then
  fail "merge.sbatch requests the array's resources: $(grep SBATCH "$TMP/sharded/slurm/merge.sbatch")"
fi
for f in array.sbatch merge.sbatch; do
  [[ -x $TMP/sharded/slurm/$f ]] || fail "missing or not executable: sharded/slurm/$f"
done
grep -q -- '--shard "${SLURM_ARRAY_TASK_ID}/' "$TMP/sharded/slurm/array.sbatch" || fail "array.sbatch does not pass --shard"
grep -q -- '#SBATCH --array=0-3' "$TMP/sharded/slurm/array.sbatch" || fail "array.sbatch is not a 4-task array"
if [[ $submit_out =~ submitted:\ array\ job\ ([0-9]+),\ merge\ job\ ([0-9]+) ]]; then
  ARRAY_ID=${BASH_REMATCH[1]}
  MERGE_ID=${BASH_REMATCH[2]}
else
  fail "cannot parse the job ids from: $submit_out"
fi

deadline=$((SECONDS + JOB_TIMEOUT))
while :; do
  left=$(squeue --noheader --jobs="$ARRAY_ID,$MERGE_ID" --format=%i 2>/dev/null | wc -l)
  ((left == 0)) && break
  if ((SECONDS > deadline)); then
    squeue --jobs="$ARRAY_ID,$MERGE_ID" >&2
    show_logs
    fail "jobs $ARRAY_ID/$MERGE_ID still queued after $JOB_TIMEOUT s"
  fi
  sleep 1
done
echo "jobs done after $((SECONDS - START)) s" >&2

show_job_logs() {
  for f in "$TMP"/sharded/slurm/*.log; do
    [[ -f $f ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
}

# Job states from the controller (kept MinJobAge = 600 s; no accounting needed).
states=$(scontrol --oneliner show job "$ARRAY_ID" 2>/dev/null; scontrol --oneliner show job "$MERGE_ID" 2>/dev/null)
n_ok=$(grep -c 'JobState=COMPLETED .*ExitCode=0:0' <<<"$states")
if ((n_ok != 5)); then
  grep -o 'JobId=[0-9]* \(ArrayJobId=[0-9]* ArrayTaskId=[0-9]* \)\?JobName=[^ ]*\|JobState=[A-Z_]* Reason=[^ ]*\|ExitCode=[0-9:]*' <<<"$states" >&2
  show_job_logs
  fail "expected 5 COMPLETED jobs with exit code 0 (4 shards + merge), got $n_ok"
fi
# Slurm applied the time limits: 30 min for each array task, 10 for the merge.
n_array_limit=$(grep -c 'JobName=tsgd-slurm_test .*TimeLimit=00:30:00' <<<"$states")
n_merge_limit=$(grep -c 'JobName=tsgd-slurm_test-merge .*TimeLimit=00:10:00' <<<"$states")
if ((n_array_limit != 4 || n_merge_limit != 1)); then
  grep -o 'JobName=[^ ]*\|TimeLimit=[^ ]*' <<<"$states" >&2
  fail "time limits: $n_array_limit of 4 array tasks with 00:30:00, $n_merge_limit merge job with 00:10:00"
fi

for i in 0 1 2 3; do
  log=$TMP/sharded/slurm/shard-$i.log
  [[ -f $log ]] || { show_job_logs; fail "no log for array task $i"; }
  if grep -qi 'error:' "$log"; then show_job_logs; fail "array task $i logged an error"; fi
  [[ -d $TMP/sharded/shard-$i-of-4 ]] || { show_job_logs; fail "no shard directory shard-$i-of-4"; }
done
shards=$(find "$TMP/sharded" -mindepth 1 -maxdepth 1 -type d -name 'shard-*' | wc -l)
((shards == 4)) || fail "expected 4 shard directories, found $shards"
[[ -f $TMP/sharded/slurm/merge.log ]] || fail "no merge log"
if grep -qi 'error:' "$TMP/sharded/slurm/merge.log"; then show_job_logs; fail "the merge job logged an error"; fi
[[ -f $TMP/sharded/summary.json ]] || { show_job_logs; fail "the merge did not write sharded/summary.json"; }

# A failed task resubmitted alone (sbatch --array=2) still runs shard 2 of 4
# (the array then has one task: the count must not come from its size).
rm -f "$TMP/sharded/slurm/shard-2.log"
timeout "$JOB_TIMEOUT" sbatch --wait --array=2 "$TMP/sharded/slurm/array.sbatch" >&2 ||
  { show_job_logs; fail "array task 2, resubmitted alone, failed"; }
if grep -qi 'error:' "$TMP/sharded/slurm/shard-2.log"; then show_job_logs; fail "the resubmitted task 2 logged an error"; fi

# ---------------------------------------------------------------- reference run
"$TSGD" run "$CONFIG" --output "$TMP/plain" --quiet >"$TMP/plain.out" 2>&1 || {
  cat "$TMP/plain.out" >&2
  fail "the unsharded tsgd run failed"
}

compared=()
for f in points.csv runs.csv curves.csv table.csv escapes.csv results.h5 final_order_parameters.jsonl summary.json ode.csv; do
  [[ -f $TMP/plain/$f ]] || fail "the unsharded run did not write $f"
  [[ -f $TMP/sharded/$f ]] || fail "the merge did not write $f"
done
# Every top-level result file of the unsharded run, except the two that name
# the run itself (manifest.json: host, times, command; config.json: output dir).
for path in "$TMP"/plain/*; do
  f=${path##*/}
  [[ -f $path ]] || continue
  [[ $f == manifest.json || $f == config.json ]] && continue
  [[ -f $TMP/sharded/$f ]] || fail "the merge did not write $f"
  cmp "$path" "$TMP/sharded/$f" >&2 || fail "$f differs between the merged shards and the unsharded run"
  compared+=("$f")
done
# config.json: identical but for "output", which names each run's own directory.
normalise() { sed -E 's#^( *"output": ).*$#\1"DIR",#' "$1"; }
[[ -f $TMP/sharded/config.json ]] || fail "the merge did not write config.json"
diff <(normalise "$TMP/plain/config.json") <(normalise "$TMP/sharded/config.json") >&2 ||
  fail "config.json differs (other than \"output\") between the merged shards and the unsharded run"
compared+=("config.json(except output)")

echo "PASS: slurm_integration: 4-shard array + merge on Slurm identical to the unsharded run (${compared[*]}); $((SECONDS - START)) s"
exit 0
