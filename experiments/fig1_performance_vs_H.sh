#!/usr/bin/env bash
# Figure 1: J_H vs H for every arm, one panel per heterogeneity level (SPEC §5.1).
#   ./experiments/fig1_performance_vs_H.sh cpu      # experiment=didactic, about 25 minutes (9 runs)
#   ./experiments/fig1_performance_vs_H.sh paper    # experiment=didactic_paper, one GPU
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] mixture=low,mid,high seed=0,1,2
#       hydra/launcher=joblib ..., then python -m analysis.figures SWEEP_DIR --out SWEEP_DIR/figures
source "$(dirname "$0")/common.sh"
sweep fig1_performance_vs_H "mixture=$MIXTURES" "seed=$SEEDS"
