# Sourced by the recipes in this folder (not run on its own): the scale's experiment and grids,
# the launcher, and `sweep NAME OVERRIDES...`, which runs one Hydra multirun into a fresh dated
# folder and then regenerates the figures from what the sweep stored.
#
# Testbed: the didactic recipes source this file as is; the MATH recipes set TESTBED=math first.
# Scale (first argument):
#   didactic `cpu`   = experiment=didactic (the faithful CPU default, about 2.5 min a run), one job at a time;
#   didactic `paper` = experiment=didactic_paper (one GPU, one job at a time unless N_JOBS says more);
#   math `cpu`  = experiment=math_arms_cpu: a tiny random Llama (built into .cache/tiny if missing)
#                 on a slice of MATH, mechanics only (accuracy ≈ 0), one job at a time;
#   math `real` = experiment=math_arms: Llama-3.2-1B-Instruct (override model.name_or_path for
#                 3B / 8B) on MATH train and MATH-500; one GPU, hub access, one job at a time.
# Every later argument is passed to Hydra as an extra override, after the recipe's own (the last
# value of a key wins), e.g. model.name_or_path=meta-llama/Llama-3.1-8B-Instruct, or
# hydra/launcher=slurm hydra.launcher.partition=gpu.
# Environment knobs: SEEDS (default 0,1,2), MIXTURES (didactic, low,mid,high), LEVELS (MATH
# heterogeneity, low,mid,high), LAUNCHER (joblib, or slurm for conf/hydra/launcher/slurm.yaml),
# N_JOBS (parallel joblib jobs), TORCH_THREADS (per job; default the cores over N_JOBS), SWEEPS
# (root of the sweep folders, default multirun), VBVF_CACHE (the stage cache the sweeps share,
# default .vbvf_cache). Run the recipes from the repository root.
set -euo pipefail

SCALE=${1:?usage: $0 cpu|paper (didactic) or cpu|real (MATH) [extra Hydra overrides...]}
shift
EXTRA=("$@")
SEEDS=${SEEDS:-0,1,2}
MIXTURES=${MIXTURES:-low,mid,high}
LEVELS=${LEVELS:-low,mid,high}
GRID_OVERRIDES=()  # the scale's grid, put before the recipe's overrides
TINY_MODELS=""     # where the tiny local models are built before the sweep, if missing
case ${TESTBED:-didactic}:$SCALE in
  # HORIZONS repeats the experiment's eval.horizons: the n ∝ H grid is computed from it.
  didactic:cpu)   EXPERIMENT=didactic;       HORIZONS=(8 16 32);          N_PER_H=2;  N_GRID=16,32,64,128;            N_JOBS=${N_JOBS:-1} ;;
  didactic:paper) EXPERIMENT=didactic_paper; HORIZONS=(16 32 64 128 256); N_PER_H=16; N_GRID=512,1024,2048,4096,8192; N_JOBS=${N_JOBS:-1} ;;
  # MATH: H = N·h for N in the experiment's selection.n_grid. The n grid stays at or below
  # heterogeneity.problems_offset (cpu 16, real 5000), so one base per (level, seed) serves every n.
  math:cpu)  EXPERIMENT=math_arms_cpu; N_GRID=4,8,16;              N_JOBS=${N_JOBS:-1}; TINY_MODELS=.cache/tiny ;;
  math:real) EXPERIMENT=math_arms;     N_GRID=500,1000,2000,4000; N_JOBS=${N_JOBS:-1} ;;
  *) echo "scale must be cpu or paper (didactic recipes) or cpu or real (MATH recipes), got '$SCALE'" >&2; exit 2 ;;
esac
if [[ ${TESTBED:-didactic} == didactic ]]; then
  GRID_OVERRIDES=("eval.horizons=[$(IFS=,; echo "${HORIZONS[*]}")]")
fi

# The data budgets n = N_PER_H · H for H in the grid, comma-separated for a Hydra sweep.
proportional_n() {
  local h out=()
  for h in "${HORIZONS[@]}"; do out+=($((N_PER_H * h))); done
  (IFS=,; echo "${out[*]}")
}

launcher_overrides() {
  case ${LAUNCHER:-joblib} in
    joblib) echo "hydra/launcher=joblib hydra.launcher.n_jobs=$N_JOBS torch_threads=${TORCH_THREADS:-$(( $(nproc) / N_JOBS > 0 ? $(nproc) / N_JOBS : 1 ))}" ;;
    *) echo "hydra/launcher=$LAUNCHER" ;;
  esac
}

# sweep NAME OVERRIDES...: one multirun of $EXPERIMENT over OVERRIDES, then its figures.
sweep() {
  local name=$1 dir
  shift
  dir=${SWEEPS:-multirun}/$name/$SCALE/$(date +%Y-%m-%d_%H-%M-%S)
  if [[ -n $TINY_MODELS && ! -d $TINY_MODELS/policy ]]; then
    python -m vbvf.models.tiny_llama "$TINY_MODELS"
  fi
  # shellcheck disable=SC2046  # the launcher overrides are several words on purpose
  python -m vbvf.run -m "experiment=$EXPERIMENT" "${GRID_OVERRIDES[@]}" "$@" \
    "cache_dir=${VBVF_CACHE:-.vbvf_cache}" "hydra.sweep.dir=$dir" $(launcher_overrides) "${EXTRA[@]}"
  python -m analysis.figures "$dir" --out "$dir/figures"
}
