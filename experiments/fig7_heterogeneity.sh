#!/usr/bin/env bash
# Figure 7: heterogeneity of the base policies — distribution of σ_x, and σ_x/H vs H (SPEC §5.7).
# Base statistics only: every arm is switched off, so only the base LM is trained.
#   ./experiments/fig7_heterogeneity.sh cpu
#   ./experiments/fig7_heterogeneity.sh paper
#   ./experiments/fig7_heterogeneity.sh cpu base=procedural   # the exact mixture, seconds
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] mixture=low,mid,high seed=0,1,2
#       vf.enabled=false vf.expert_control=false vb.bon.enabled=false vb.rl.enabled=false vb.rl.true_reward_control=false controls.optimal=false ...,
#       then python -m analysis.figures on the sweep (figures 7 and 8; 1-4 are skipped).
source "$(dirname "$0")/common.sh"
sweep fig7_heterogeneity "mixture=$MIXTURES" "seed=$SEEDS" \
  vf.enabled=false vf.expert_control=false vb.bon.enabled=false vb.rl.enabled=false vb.rl.true_reward_control=false controls.optimal=false
