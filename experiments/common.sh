# Sourced by the recipes in this folder (not run on its own): the scale's experiment and grids,
# the launcher, and `sweep NAME OVERRIDES...`, which runs one Hydra multirun into a fresh dated
# folder and then regenerates the figures from what the sweep stored.
#
# Scale (first argument): `cpu` = experiment=didactic_cpu, minutes on a laptop, joblib with 2
# jobs; `paper` = experiment=didactic_paper (one GPU, one job at a time unless N_JOBS says more).
# Every later argument is passed to Hydra as an extra override (e.g. hydra/launcher=slurm
# hydra.launcher.partition=gpu).
# Environment knobs: SEEDS (default 0,1,2), MIXTURES (low,mid,high), LAUNCHER (joblib, or slurm
# for conf/hydra/launcher/slurm.yaml), N_JOBS (parallel joblib jobs), SWEEPS (root of the sweep
# folders, default multirun), VBVF_CACHE (the stage cache the sweeps share, default .vbvf_cache).
set -euo pipefail

SCALE=${1:?usage: $0 cpu|paper [extra Hydra overrides...]}
shift
EXTRA=("$@")
SEEDS=${SEEDS:-0,1,2}
MIXTURES=${MIXTURES:-low,mid,high}
case $SCALE in
  # HORIZONS repeats the experiment's eval.horizons: the n ∝ H grid is computed from it.
  cpu)   EXPERIMENT=didactic_cpu;   HORIZONS=(8 16 32);          N_PER_H=2;  N_GRID=8,16,32,64;              N_JOBS=${N_JOBS:-2} ;;
  paper) EXPERIMENT=didactic_paper; HORIZONS=(16 32 64 128 256); N_PER_H=16; N_GRID=512,1024,2048,4096,8192; N_JOBS=${N_JOBS:-1} ;;
  *) echo "scale must be cpu or paper, got '$SCALE'" >&2; exit 2 ;;
esac

# The data budgets n = N_PER_H · H for H in the grid, comma-separated for a Hydra sweep.
proportional_n() {
  local h out=()
  for h in "${HORIZONS[@]}"; do out+=($((N_PER_H * h))); done
  (IFS=,; echo "${out[*]}")
}

launcher_overrides() {
  case ${LAUNCHER:-joblib} in
    joblib) echo "hydra/launcher=joblib hydra.launcher.n_jobs=$N_JOBS torch_threads=$(( $(nproc) / N_JOBS > 0 ? $(nproc) / N_JOBS : 1 ))" ;;
    *) echo "hydra/launcher=$LAUNCHER" ;;
  esac
}

# sweep NAME OVERRIDES...: one multirun of $EXPERIMENT over OVERRIDES, then its figures.
sweep() {
  local name=$1 dir
  shift
  dir=${SWEEPS:-multirun}/$name/$SCALE/$(date +%Y-%m-%d_%H-%M-%S)
  # shellcheck disable=SC2046  # the launcher overrides are several words on purpose
  python -m vbvf.run -m "experiment=$EXPERIMENT" "eval.horizons=[$(IFS=,; echo "${HORIZONS[*]}")]" "$@" \
    "cache_dir=${VBVF_CACHE:-.vbvf_cache}" "hydra.sweep.dir=$dir" $(launcher_overrides) "${EXTRA[@]}"
  python -m analysis.figures "$dir" --out "$dir/figures"
}
