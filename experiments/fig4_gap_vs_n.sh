#!/usr/bin/env bash
# Figure 4: Δ against the data budget n, one series per H (SPEC §5.4).
#   ./experiments/fig4_gap_vs_n.sh cpu      # data.n=8,16,32,64
#   ./experiments/fig4_gap_vs_n.sh paper    # data.n=512,...,8192
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] data.n=N_GRID
#       mixture=low,mid,high seed=0,1,2 ..., then python -m analysis.figures on the sweep.
source "$(dirname "$0")/common.sh"
sweep fig4_gap_vs_n "data.n=$N_GRID" "mixture=$MIXTURES" "seed=$SEEDS"
