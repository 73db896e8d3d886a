"""Hydra entry point: ``python -m vbvf.run experiment=NAME [overrides]``.

Composes the typed config, then calls the pipeline named by ``cfg.pipeline`` with the run's
own output directory.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import get_method
from omegaconf import DictConfig
from transformers.utils import logging as hf_logging

from vbvf.config import register_configs

register_configs()


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    hf_logging.set_verbosity_error()  # keep load reports out of the run log; errors still show
    pipeline = get_method(cfg.pipeline)
    pipeline(cfg, Path(HydraConfig.get().runtime.output_dir))


if __name__ == "__main__":
    main()
