#!/usr/bin/env bash
# The whole MATH-arms pipeline (heterogeneity SFT, VF stitching + SFT, verifier, BoN, VF traces)
# at real model size on one GPU: a random Llama-3.2-1B-shaped model built from config (no
# accuracy claim), a small problem slice, transformers sampling. Run from the repo root:
#   bash benchmarks/device_math_arms_1b.sh OUT_DIR TRAIN.jsonl TEST.jsonl
set -uo pipefail
out=${1:?usage: OUT_DIR TRAIN.jsonl TEST.jsonl}; train=$2; test=$3
mkdir -p "$out"
python -c "from pathlib import Path; from benchmarks.bench_math_gpu import SIZES, build_model; print('params', build_model(SIZES['1b'], Path('/tmp/m1b')))"
step='max_steps: 10, batch_size: 8, learning_rate: 1.0e-5, gradient_checkpointing: true'
start=$(date +%s)
python -m vbvf.run experiment=math_arms_cpu torch_threads=0 model.name_or_path=/tmp/m1b \
  data.train.path="$train" data.eval.path="$test" data.n=16 data.train.max_problems=48 data.eval.max_problems=8 \
  heterogeneity=high heterogeneity.problems_offset=16 heterogeneity.n_problems=16 heterogeneity.samples_per_problem=4 \
  sampling.max_tokens=128 'selection.n_grid=[1,2]' eval.samples_per_prompt=4 vf.eval_traces=2 vb.traces_per_prompt=4 \
  "heterogeneity.train={$step}" "vf.train={$step}" "vb.verifier.train={$step}" grading.workers=4 \
  cache_dir=/tmp/vbvf_cache hydra.run.dir="$out/run" > "$out/run.log" 2>&1
echo "run exit $? after $(( $(date +%s) - start )) s"
grep -v "it/s\]\|s/it\]" "$out/run.log" | tail -30
python - "$out/run/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("stage seconds", {k: round(v, 1) for k, v in r["stages"]["seconds"].items()}, "total", round(r["timing_s"]["total"], 1))
print("data budget", r["data_budget"])
PY
