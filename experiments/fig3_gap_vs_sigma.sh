#!/usr/bin/env bash
# Figure 3: Δ at each fixed H against the measured σ of the base (SPEC §5.3); one point per
# heterogeneity preset, pooled over seeds, at the experiment's n.
#   ./experiments/fig3_gap_vs_sigma.sh cpu
#   ./experiments/fig3_gap_vs_sigma.sh paper
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] mixture=low,mid,high seed=0,1,2
#       ..., then python -m analysis.figures on the sweep.
source "$(dirname "$0")/common.sh"
sweep fig3_gap_vs_sigma "mixture=$MIXTURES" "seed=$SEEDS"
