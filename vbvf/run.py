"""Hydra entry point: ``python -m vbvf.run experiment=NAME [overrides]``.

Composes the typed config, then calls the pipeline named by ``cfg.pipeline`` with the run's
own output directory, once that directory and ``cache_dir`` are known to be writable. In a multirun, a job that fails writes ``failed.json`` (the error and
traceback) in its directory and the sweep goes on; a single run re-raises.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import get_method
from omegaconf import DictConfig
from transformers.utils import logging as hf_logging

from vbvf.config import register_configs
from vbvf.pipeline.artifacts import atomic_write_json, require_writable

register_configs()
log = logging.getLogger(__name__)


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hf_logging.set_verbosity_error()  # keep load reports out of the run log; errors still show
    if cfg.torch_threads > 0:  # tiny models on shared cores run far faster on one thread each
        torch.set_num_threads(cfg.torch_threads)
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    pipeline = get_method(cfg.pipeline)
    require_writable(run_dir, "hydra.sweep.dir" if hydra_cfg.mode == RunMode.MULTIRUN else "hydra.run.dir")
    try:
        require_writable(cfg.cache_dir, "cache_dir")  # before any compute: a stage must be able to land
        pipeline(cfg, run_dir)
    except Exception as error:
        if hydra_cfg.mode != RunMode.MULTIRUN:
            raise
        log.error("job %s failed: %r; the sweep goes on", hydra_cfg.job.num, error)
        atomic_write_json(run_dir / "failed.json", {
            "error": repr(error), "traceback": traceback.format_exc(), "overrides": list(hydra_cfg.overrides.task),
        })


if __name__ == "__main__":
    main()
