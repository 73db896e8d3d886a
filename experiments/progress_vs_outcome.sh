#!/usr/bin/env bash
# Beyond the paper (issue 16): dense progress-reward VB-RL (`vb_progress`, the verifier's prefix
# score as the value) and its control with the mixture's exact value (`rl_true_progress`) against
# VF, VB-BoN and outcome-reward VB-RL at matched tokens, at every H of the scale's grid and every
# heterogeneity level, with the same seeds and CIs (docs/DESIGN.md "Progress reward"). Figure 1
# then holds both progress arms (J_H vs H and vs tokens spent), figures 2-4 are drawn for vb_rl and
# again for vb_progress (`*_vb_progress.*`), and every run's results.json has
# `progress_vs_outcome`: J_H(vb_progress) − J_H(vb_rl) per H with its paired CI. VF, BoN and
# VB-RL stages are shared with the fig1/fig3 sweeps through the stage cache.
#   ./experiments/progress_vs_outcome.sh cpu
#   ./experiments/progress_vs_outcome.sh paper
#   ./experiments/progress_vs_outcome.sh cpu vb.rl.progress.segment_length=4   # episodes of 4 tokens
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] mixture=low,mid,high seed=0,1,2
#       vb.rl.progress.enabled=true vb.rl.progress.true_control=true, then python -m analysis.figures.
# The pooled difference to outcome reward, per preset and H, with the two-way cluster CI:
#   python -m analysis.arm_difference SWEEP --arm vb_progress --against vb_rl --out diff.csv
source "$(dirname "$0")/common.sh"
sweep progress_vs_outcome "mixture=$MIXTURES" "seed=$SEEDS" vb.rl.progress.enabled=true vb.rl.progress.true_control=true
