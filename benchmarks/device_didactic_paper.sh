#!/usr/bin/env bash
# The didactic study at GPU scale on one lent GPU, in one command (the lent machine forgets
# everything between calls). Run from the repo root on the GPU machine:
#   bash benchmarks/device_didactic_paper.sh OUT_DIR [extra Hydra overrides]
# Prints the bf16 peak, the run's tables, per-stage seconds and the base-LM training MFU.
set -uo pipefail
out=${1:?usage: device_didactic_paper.sh OUT_DIR [overrides]}; shift
mkdir -p "$out"
python benchmarks/peak_matmul.py | tee "$out/peak.txt"
peak=$(grep -o 'median [0-9]*' "$out/peak.txt" | grep -o '[0-9]*')
start=$(date +%s)
timeout "${RUN_LIMIT_S:-480}" python -m vbvf.run experiment=didactic_paper hydra.run.dir="$out/run" cache_dir=/tmp/vbvf_cache "$@" \
  > "$out/run.log" 2>&1
echo "run exit $? after $(( $(date +%s) - start )) s"
grep -v "it/s\]\|s/it\]" "$out/run.log" | tail -60
for stage in /tmp/vbvf_cache/base_lm/*/; do python benchmarks/mfu.py "$stage" --peak-tflops "$peak" | tee "$out/mfu.txt"; done
python - "$out/run/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("cuda", r.get("cuda")); print("stage seconds", {k: round(v, 1) for k, v in r["stages"]["seconds"].items()})
PY
