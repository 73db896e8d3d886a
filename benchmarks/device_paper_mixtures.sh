#!/usr/bin/env bash
# The full didactic_paper study for several mixtures at once on one lent GPU (one process each,
# sharing the card: each is bound by launches and host work, so together they fill it better).
# Three paper runs side by side need more than an H100's 80 GB (2026-12-07: `low` ran out of memory at
# its first held-out evaluation while `mid` and `high` held 38 and 21 GiB): on an H100 give one mixture.
# Run from the repo root on the GPU machine:
#   RUN_LIMIT_S=540 bash benchmarks/device_paper_mixtures.sh OUT "low mid high" [extra Hydra overrides]
# Stages are cached under .vbvf_cache/paper (kept by a warm machine between calls; training stages
# checkpoint, so a second call resumes). Writes OUT/paper_runs.tar.gz: each run's results.json,
# figure, composed config and log (an interrupted run: results.partial.json, its finished arms), and
# prints each run's stage seconds.
set -uo pipefail
out=${1:?usage: device_paper_mixtures.sh OUT "MIXTURES" [overrides]}; mixtures=${2:?}; shift 2
mkdir -p "$out/runs"
start=$(date +%s)
for m in $mixtures; do
  timeout --signal=INT "${RUN_LIMIT_S:-540}" python -m vbvf.run experiment=didactic_paper mixture="$m" \
    hydra.run.dir="$out/runs/$m" cache_dir=.vbvf_cache/paper "$@" > "$out/runs/$m.log" 2>&1 &
done
wait
echo "all done after $(( $(date +%s) - start )) s"
for m in $mixtures; do
  echo "== $m: $(grep -c . "$out/runs/$m.log") log lines"
  grep -v "it/s\]\|s/it\]" "$out/runs/$m.log" | grep -i "error\|Traceback\|stage .* computed\|resum" | tail -25
  python benchmarks/paper_run_summary.py "$out/runs/$m"
done
tar czf "$out/paper_runs.tar.gz" -C "$out" runs
