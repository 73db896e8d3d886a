#!/usr/bin/env bash
# Figure 2: Δ(H) on log-log axes with the fitted exponent α, its CI and a √H reference, for n
# fixed and for n ∝ H (SPEC §5.2).
#   ./experiments/fig2_gap_vs_H.sh cpu      # n = 2·H  for H in 8,16,32      (data.n=16,32,64)
#   ./experiments/fig2_gap_vs_H.sh paper    # n = 16·H for H in 16..256 (data.n=256,...,4096)
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] data.n=N_PER_H·GRID
#       mixture=low,mid,high seed=0,1,2 ..., then python -m analysis.figures on the sweep.
# n ∝ H: Hydra's basic sweeper only takes products, so every run evaluates the whole H grid at
# one n, and the analysis reads the diagonal n = N_PER_H·H (each single n is also an n-fixed
# series). One base per (mixture, seed) serves every point, as the base depends on the largest H.
source "$(dirname "$0")/common.sh"
sweep fig2_gap_vs_H "data.n=$(proportional_n)" "mixture=$MIXTURES" "seed=$SEEDS"
