#!/usr/bin/env bash
# Figure 8: anti-concentration of the base policies — distribution of c_x(ε) over test prompts
# for every ε of eval.eps, at the largest H (SPEC §5.8). Base statistics only, as for figure 7.
#   ./experiments/fig8_anti_concentration.sh cpu
#   ./experiments/fig8_anti_concentration.sh paper
# runs: python -m vbvf.run -m experiment=EXP eval.horizons=[GRID] mixture=low,mid,high seed=0,1,2
#       vf.enabled=false vf.expert_control=false vb.bon.enabled=false vb.rl.enabled=false vb.rl.true_reward_control=false controls.optimal=false ...,
#       then python -m analysis.figures on the sweep.
source "$(dirname "$0")/common.sh"
sweep fig8_anti_concentration "mixture=$MIXTURES" "seed=$SEEDS" \
  vf.enabled=false vf.expert_control=false vb.bon.enabled=false vb.rl.enabled=false vb.rl.true_reward_control=false controls.optimal=false
