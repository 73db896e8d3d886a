#!/usr/bin/env bash
# Figure 6: a long-trace VF model vs BoN at matched token budgets (SPEC §5.6), on the high-
# heterogeneity base. VF is trained on stitched traces of up to 7 wrong attempts before the right
# one (vf.stitch.max_wrong=7), beside the standard VF (up to 3) as a reference; N goes up to 32, so
# the VF trace gets up to H = 32·h tokens. vb.traces_per_prompt=8 samples per training problem
# give the stitching up to 7 wrong attempts plus a right one (both arms see the same samples).
# VF_MAX_WRONG (default 3,7) sets the VF trace lengths compared.
#   ./experiments/fig6_math_long_trace.sh cpu     # tiny random Llama, mechanics only; H up to 1024
#   ./experiments/fig6_math_long_trace.sh real    # Llama-3.2-1B-Instruct; H up to 32768 tokens
# runs: python -m vbvf.run -m experiment=EXP heterogeneity=high vf.stitch.max_wrong=3,7
#       selection.n_grid=[1,2,4,8,16,32] vb.traces_per_prompt=8 seed=0,1,2 ..., then analysis.figures.
TESTBED=math
source "$(dirname "$0")/common.sh"
sweep fig6_math_long_trace heterogeneity=high "vf.stitch.max_wrong=${VF_MAX_WRONG:-3,7}" \
  "selection.n_grid=[1,2,4,8,16,32]" vb.traces_per_prompt=8 "seed=$SEEDS"
