#!/usr/bin/env bash
# Issue 13 item 6 on one lent GPU: SmolLM2-135M-Instruct, real results (docs/MATH_REAL.md, "Real
# results on a GPU (item 6): recipe"). Run from the repo root after the GGUF was joined there
# (benchmarks/device_smollm2_parts.sh):
#   bash benchmarks/device_math_smollm2.sh OUT base [MATH500.jsonl|skip] [-- OVERRIDES...]
#       converts the GGUF (once per machine), then the pretrained model's numbers:
#       experiment=math_real_base (ladder test split) and experiment=math_real_math500 (MATH-500 from
#       MATH500.jsonl, default .devdata/math500.jsonl; skipped, said so, when there is none or with `skip`)
#   bash benchmarks/device_math_smollm2.sh OUT arms LEVEL... [-- OVERRIDES...]
#       experiment=math_real heterogeneity=LEVEL for each LEVEL (low, mid, high, none), one after the other
#   bash benchmarks/device_math_smollm2.sh OUT all [MATH500.jsonl|skip] LEVEL... [-- OVERRIDES...]
#       both at once, sharing the card (decoding a 135 M model is bound by kernel launches, not by the
#       GPU's width): `base` in one process, the first LEVEL in another, and the other LEVELs each in
#       their own once the first has cached the format SFT that every level shares (two processes must
#       not train one stage into one checkpoint folder; if it is not cached within FORMAT_WAIT_S,
#       default 300 s, they wait for the first level to end, and run one after the other if it failed
#       before caching it). All five runs shared one H100 on 2026-12-07 (docs/MATH_REAL.md)
# OVERRIDES go to every run of the call (e.g. data.n=100 eval.samples_per_prompt=16 to cut one).
# Each run is a `python -m vbvf.run` under `timeout --signal=INT`, limited to what is left of the
# call's DEADLINE_S (default 570 s) counted from CALL_START (epoch seconds; default: this script's
# start), less 20 s for the tarball; a run that would get under MIN_RUN_S (default 60) is not
# started. Stages (format SFT, heterogeneity SFT, VF, verifier) and samples are cached under
# VBVF_CACHE (default /tmp/vbvf_cache), which a warm machine keeps, so an interrupted run resumes
# in the next call and the format SFT is trained once for every level. Writes OUT/NAME.tar.gz
# (NAME: base, or arms_LEVEL_LEVEL...) holding a folder per run (base_ladder, base_math500,
# arms_LEVEL): results.json, graded.npz, the composed config (.hydra/), Hydra's run.log and the
# run's whole output (stdout.log), the GGUF conversion's log (convert.log, base); never models or
# checkpoints. Unpack it into experiments/results/math_smollm2/.
# Environment: SMOLLM2_GGUF (default /tmp/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf), VBVF_CACHE,
# WORK_DIR (run folders, default /tmp/item6), CALL_START, DEADLINE_S, MIN_RUN_S.
set -uo pipefail
usage="usage: $0 OUT base [MATH500.jsonl|skip] [-- OVERRIDES...] | $0 OUT arms LEVEL... [-- OVERRIDES...] | $0 OUT all [MATH500.jsonl|skip] LEVEL... [-- OVERRIDES...]"
out=${1:?$usage}; what=${2:?$usage}; shift 2
args=()
while (($#)) && [[ $1 != -- ]]; do args+=("$1"); shift; done
[[ ${1:-} == -- ]] && shift
overrides=("$@")

CALL_START=${CALL_START:-$(date +%s)}
DEADLINE_S=${DEADLINE_S:-570}
MIN_RUN_S=${MIN_RUN_S:-60}
GGUF=${SMOLLM2_GGUF:-/tmp/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}
CACHE=${VBVF_CACHE:-/tmp/vbvf_cache}
if [[ ! -f $GGUF ]]; then
  echo "no GGUF at $GGUF: stash its parts and join them first (benchmarks/device_smollm2_parts.sh)" >&2
  exit 2
fi
case $what in
  base) name=base; [[ ${#args[@]} -le 1 ]] || { echo "$usage" >&2; exit 2; } ;;
  arms|all)
    if [[ $what == all && ! ${args[0]:-} =~ ^(low|mid|high|none)$ ]]; then math500=${args[0]}; args=("${args[@]:1}"); fi
    ((${#args[@]})) || { echo "$usage" >&2; exit 2; }
    for level in "${args[@]}"; do
      [[ $level =~ ^(low|mid|high|none)$ ]] || { echo "unknown heterogeneity level '$level': low, mid, high or none" >&2; exit 2; }
    done
    name=${what}_$(IFS=_; echo "${args[*]}") ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
work=${WORK_DIR:-/tmp/item6}
mkdir -p "$out" "$work"
runs=()  # this call's run folders, tarred at the end
model="model.name_or_path=gguf:$GGUF"

left() { echo $((CALL_START + DEADLINE_S - 20 - $(date +%s))); }

# summary RUN_DIR: the numbers of a finished run, or what an interrupted one left
summary() {
  python - "$1" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
if not (run / "results.json").exists():
    print(f"  {run.name}: no results.json" + (" (results.partial.json present)" if (run / "results.partial.json").exists() else ""))
    sys.exit()
r = json.loads((run / "results.json").read_text())
fmt = lambda x: "-" if x is None else f"{x:.3f}"
print(f"  {run.name}: {r['pipeline']} {r['experiment']}, {r.get('sample_counts')}, total {r['timing_s']['total']:.0f} s")
if "stages" in r:
    print("  stage seconds", {k: round(v, 1) for k, v in r["stages"].get("seconds", {}).items()})
if r.get("format_sft"):
    print(f"  format SFT boxed share {fmt(r['format_sft']['answer_rate_before'])} -> {fmt(r['format_sft']['answer_rate_after'])}")
print(f"  base answer rate {fmt(r['base']['answer_rate'])}; by level:")
for level, s in r["base"]["by_level"].items():
    print(f"    level {level}: {s['problems']} problems, sample accuracy {fmt(s['sample_accuracy'])} [{fmt(s['ci'][0])}, "
          f"{fmt(s['ci'][1])}], answer rate {fmt(s['answer_rate'])}, median sigma {fmt(s['median_sigma'])} at H={s['H']}")
for arm, per in r["arms"].items():
    print(f"  {arm:20s}", " ".join(f"{k}:{fmt(v['accuracy'])}" for k, v in per.items()))
top = str(max(map(int, r["base_stats"])))
het = r["base_stats"][top]["heterogeneity"]
print(f"  base at H={top}: J_norm {fmt(r['base_stats'][top]['J_norm']['value'])}, median sigma {fmt(het['median_sigma'])}")
for method, per in r.get("gaps", {}).items():
    print(f"  gap {method} - vf", " ".join(f"{h}:{fmt(g['value'])}" for h, g in per.items()))
PY
}

# run RUN OVERRIDES...: one vbvf.run into $work/RUN, limited to the time left
run() {
  local run=$1 limit start rc
  shift
  limit=$(left)
  if ((limit < MIN_RUN_S)); then
    echo "== $run: not started, $limit s left of the call (DEADLINE_S=$DEADLINE_S)"
    return
  fi
  echo "== $run: up to $limit s"
  start=$(date +%s)
  mkdir -p "$work/$run"
  rm -f "$work/$run/results.json"  # a rerun's folder: no stale results
  runs+=("$run")
  timeout --signal=INT --kill-after=15 "$limit" python -m vbvf.run "$@" "$model" hydra.run.dir="$work/$run" "${overrides[@]}" \
    > "$work/$run/stdout.log" 2>&1
  rc=$?
  echo "== $run: exit $rc after $(($(date +%s) - start)) s$( ((rc == 124)) && echo ' (timed out: rerun it to resume from the cached stages)')"
  grep -v "it/s\]\|s/it\]" "$work/$run/stdout.log" | grep -i "error\|Traceback\|interrupt\|computed\|reus" | tail -15
  summary "$work/$run"
}

convert() {
  local start=$(date +%s)
  mkdir -p "$work/base_ladder"
  python -m vbvf.models.gguf "gguf:$GGUF" > "$work/base_ladder/convert.log" 2>&1
  echo "== convert: exit $? after $(($(date +%s) - start)) s: $(tail -1 "$work/base_ladder/convert.log")"
}

# arms_run LEVEL: experiment=math_real at one heterogeneity level
arms_run() { run "arms_$1" experiment=math_real heterogeneity="$1" cache_dir="$CACHE"; }

base_runs() {
  run base_ladder experiment=math_real_base cache_dir="$CACHE/samples"
  math500=${math500:-.devdata/math500.jsonl}
  if [[ $math500 == skip ]]; then
    echo "== base_math500: skipped (asked)"
  elif [[ -f $math500 ]]; then
    run base_math500 experiment=math_real_math500 cache_dir="$CACHE/samples" data.eval.path="$(realpath "$math500")"
  else
    echo "== base_math500: skipped, no $math500 (carry .devdata or give the jsonl's path)"
  fi
}

case $what in
  base)
    math500=${args[0]:-}
    convert
    base_runs
    ;;
  arms)
    for level in "${args[@]}"; do
      arms_run "$level"
    done
    ;;
  all)
    export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True  # several processes share the card's memory
    convert
    base_runs > "$work/base.out" 2>&1 &
    arms_run "${args[0]}" > "$work/arms_${args[0]}.out" 2>&1 &
    first=$!
    format_cached() { compgen -G "$CACHE/stages/math_format/*/DONE" > /dev/null; }
    waited=0
    until format_cached || ! kill -0 "$first" 2>/dev/null || ((waited >= ${FORMAT_WAIT_S:-300})); do
      sleep 5; waited=$((waited + 5))
    done
    if ! format_cached; then
      echo "== format SFT not cached after ${waited} s: the other levels start when arms_${args[0]} has ended"
      wait "$first"
    fi
    if format_cached; then
      echo "== format SFT cached (waited ${waited} s): the other levels start together"
      for level in "${args[@]:1}"; do
        arms_run "$level" > "$work/arms_$level.out" 2>&1 &
      done
    else
      echo "== format SFT still not cached: the other levels run one after the other"
      for level in "${args[@]:1}"; do
        arms_run "$level" > "$work/arms_$level.out" 2>&1
      done &
    fi
    wait
    cat "$work/base.out"
    runs=(base_ladder)
    [[ -d $work/base_math500 ]] && runs+=(base_math500)
    for level in "${args[@]}"; do
      cat "$work/arms_$level.out"
      [[ -d $work/arms_$level ]] && runs+=("arms_$level")
    done
    ;;
esac
[[ ${#runs[@]} -gt 0 || $what != base ]] || runs=(base_ladder)  # base: at least the conversion's log
((${#runs[@]})) || { echo "no run started: nothing to tar"; exit 1; }
tar czf "$out/$name.tar.gz" -C "$work" --exclude='*.safetensors' --exclude='*.bin' --exclude='*.pt' \
  --exclude='checkpoint*' "${runs[@]}"
echo "wrote $out/$name.tar.gz ($(stat -c %s "$out/$name.tar.gz") bytes) after $(($(date +%s) - CALL_START)) s of the call"
