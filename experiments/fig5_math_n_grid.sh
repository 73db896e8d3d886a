#!/usr/bin/env bash
# Figure 5 against the data budget n and over the joint (n, H) grid (SPEC §5.5): accuracy at the
# largest H and Δ = VB − VF per H against n (5b), Δ as an (n, H) heatmap (5c), and 5a, 7, 8 as
# fig5_math_arms.sh draws them (5a at the largest n). Every run evaluates the whole H grid at one
# n, so sweeping data.n gives the joint grid; the base depends on neither, so one base per
# (level, seed) serves every n (and the runs of fig5_math_arms.sh at the same n are reused from the cache).
#   ./experiments/fig5_math_n_grid.sh cpu     # data.n=4,8,16
#   ./experiments/fig5_math_n_grid.sh real    # data.n=500,1000,2000,4000
# runs: python -m vbvf.run -m experiment=EXP data.n=N_GRID heterogeneity=low,mid,high seed=0,1,2 ...,
#       then python -m analysis.figures on the sweep.
TESTBED=math
source "$(dirname "$0")/common.sh"
sweep fig5_math_n_grid "data.n=$N_GRID" "heterogeneity=$LEVELS" "seed=$SEEDS"
