#!/usr/bin/env bash
# One didactic_paper mixture on one lent GPU, its arms in parallel processes, then one run that
# assembles them. Run from the repo root on the GPU machine:
#   RUN_LIMIT_S=540 bash benchmarks/device_paper_arms.sh OUT MIXTURE [extra Hydra overrides]
# (EXPERIMENT=didactic_smoke runs the same split on the CPU in a minute, with a stub nvidia-smi on PATH.)
# First the base, alone (every arm off), so that a base that fails (it diverged in bf16 on an H100)
# fails once. Then the arms as parallel processes, each the same `experiment=didactic_paper` with only
# some arms left on: VF, its expert control, BoN and the optimal control; VB-RL; the true-reward RL control (with their
# progress-reward twins where enabled); on a card under 100 GiB the two RL arms share one process
# unless SPLIT_RL=1 (three processes on any card: each holds ~20 GB at most by the sizes of its
# models, optimiser and static KV caches, an estimate, not a measurement).
# They share the stage cache (.vbvf_cache/paper) and its locks (the verifier is trained once); the
# small GPT-2 leaves the card idle between its short kernels, which the other processes fill. Once
# every process has finished, a last run with every arm finds each stage cached (base samples,
# evaluations and BoN candidates included: it samples nothing) and writes the mixture's results.json:
# the same stages, keys and seeds as one process would use, so the same results (tests/test_resume.py).
# A process stopped mid-arm reports that arm's finished H (results.partial.json). At the time limit each
# process is stopped with SIGINT: a training stage saves the step in flight (vbvf/arms/interrupt.py),
# and a rerun of this script on the same warm machine resumes every stage where it stopped.
# Writes OUT/paper_arms_MIXTURE.tar.gz (each process's log and results, the assembled results.json and figure).
set -uo pipefail
out=${1:?usage: device_paper_arms.sh OUT MIXTURE [overrides]}; mixture=${2:?}; shift 2
limit=${RUN_LIMIT_S:-540}; start=$(date +%s)
export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}
only() {  # the named arm switches keep their configured values, every other one is turned off
  local key
  for key in vf.enabled vf.expert_control vb.bon.enabled vb.rl.enabled vb.rl.true_reward_control controls.optimal \
             vb.rl.progress.enabled vb.rl.progress.true_control; do
    [[ " $* " == *" $key "* ]] || echo "$key=false"
  done
}
memory_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits | head -1)
declare -A groups=([vf]="vf.enabled vf.expert_control vb.bon.enabled controls.optimal" [vb_rl]="vb.rl.enabled vb.rl.progress.enabled"
                   [rl_true]="vb.rl.true_reward_control vb.rl.progress.true_control")
if (( memory_mib < 100 * 1024 )) && [[ ${SPLIT_RL:-0} != 1 ]]; then  # the two RL processes become one
  groups[rl]="${groups[vb_rl]} ${groups[rl_true]}"
  unset 'groups[vb_rl]' 'groups[rl_true]'
fi
runs="$out/runs/$mixture"
mkdir -p "$runs"
common=("experiment=${EXPERIMENT:-didactic_paper}" "mixture=$mixture" cache_dir=.vbvf_cache/paper)
left() { echo $(( limit - ($(date +%s) - start) )); }
report() {  # what each process did, its finished arms and stage seconds; then the tarball
  local group
  for group in base "${!groups[@]}" all; do
    [[ -f "$runs/$group.log" ]] || continue
    echo "== $group: $(grep -c . "$runs/$group.log") log lines"
    grep -v "it/s\]\|s/it\]" "$runs/$group.log" | grep -i "error\|Traceback\|stage .* computed\|resum\|SIGINT" | tail -20
    python benchmarks/paper_run_summary.py "$runs/$group"
  done
  nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv
  echo "peak memory.used so far: $(cut -d, -f2 "$runs/gpu.log" | sort -n | tail -1) (of $memory_mib MiB)"
  local fit  # the finished base's fit (held-out curve, stop reason), which the stage cache keeps on the machine
  for fit in .vbvf_cache/paper/base_lm/*/fit.json; do [[ -f "$fit" ]] && cp "$fit" "$runs/base_fit.json"; done
  tar czf "$out/paper_arms_$mixture.tar.gz" -C "$out" runs
}
# the card's memory and utilisation every 10 s, for the report (what the processes really hold)
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv,noheader -l 10 >> "$runs/gpu.log" 2>&1 &
monitor=$!
trap 'kill $monitor 2>/dev/null' EXIT
echo "$(date -u +%H:%M:%S) $mixture: the base, then ${#groups[@]} processes (${!groups[*]}) on a card of $memory_mib MiB, $limit s"
# the base alone first (every arm off): a base that fails (diverges) fails once, not once per process
# shellcheck disable=SC2046
timeout -k 30 --signal=INT "$limit" python -m vbvf.run "${common[@]}" $(only) hydra.run.dir="$runs/base" "$@" \
  > "$runs/base.log" 2>&1
code=$?
echo "$(date -u +%H:%M:%S) base exit $code after $(( $(date +%s) - start )) s"
if (( code != 0 || $(left) < 60 )); then
  echo "arms not run: the base did not finish ($code) or $(left) s left"
  report
  exit 0
fi
declare -A pids
for group in "${!groups[@]}"; do
  # shellcheck disable=SC2046  # one override per word
  timeout -k 30 --signal=INT "$(left)" python -m vbvf.run "${common[@]}" $(only ${groups[$group]}) \
    hydra.run.dir="$runs/$group" "$@" > "$runs/$group.log" 2>&1 &
  pids[$group]=$!
done
failed=0
for group in "${!pids[@]}"; do
  wait "${pids[$group]}"; code=$?
  echo "$(date -u +%H:%M:%S) $group exit $code after $(( $(date +%s) - start )) s"
  (( code == 0 )) || failed=1
done
if (( failed == 0 && $(left) > 30 )); then
  timeout -k 30 --signal=INT "$(left)" python -m vbvf.run "${common[@]}" hydra.run.dir="$runs/all" "$@" \
    > "$runs/all.log" 2>&1
  echo "$(date -u +%H:%M:%S) all (assembly) exit $? after $(( $(date +%s) - start )) s"
else
  echo "assembly not run: a process did not finish ($failed) or $(left) s left"
fi
report
