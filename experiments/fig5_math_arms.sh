#!/usr/bin/env bash
# Figure 5a: MATH accuracy vs test-time tokens, VF (stitched-trace SFT) vs VB (verifier + BoN,
# weighted BoN; majority vote and pass@N as references), one panel per heterogeneity-controlled
# base, at the experiment's n (SPEC §5.5); also the MATH figures 7 and 8 (σ_x, c_x(ε) of the bases).
# Every run evaluates the whole matched-budget grid H = N·h. For figure 5 against n and over the
# joint (n, H) grid, run fig5_math_n_grid.sh.
#   ./experiments/fig5_math_arms.sh cpu     # experiment=math_arms_cpu: tiny random Llama, mechanics only
#   ./experiments/fig5_math_arms.sh real    # experiment=math_arms: Llama-3.2-1B-Instruct, one GPU
#   ./experiments/fig5_math_arms.sh real model.name_or_path=meta-llama/Llama-3.2-3B-Instruct
# runs: python -m vbvf.run -m experiment=EXP heterogeneity=low,mid,high seed=0,1,2 hydra/launcher=joblib
#       ..., then python -m analysis.figures SWEEP_DIR --out SWEEP_DIR/figures
TESTBED=math
source "$(dirname "$0")/common.sh"
sweep fig5_math_arms "heterogeneity=$LEVELS" "seed=$SEEDS"
