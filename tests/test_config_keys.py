"""Every key an experiment composes is one its testbed's code reads: no knob is silently ignored.

A key is *read* when its name occurs, as a name or a string, in a module the testbed's pipeline
imports (directly or not, within vbvf); a key of a ``_target_`` node must be an argument of the
target, which Hydra passes it to. This is a check by name: a key read under the same name by
another stage of the same testbed passes.
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache

import pytest
from hydra.utils import get_object
from omegaconf import OmegaConf

from tests.conftest import CONF, ROOT

SCHEMAS = {"vbvf.config", "vbvf.tasks.math.config"}  # they declare every key: naming it there is not reading it


@cache
def module_names(module: str) -> frozenset[str]:
    """Names and string constants of ``module`` and of every vbvf module it imports, transitively
    (the schema modules aside)."""
    seen, todo, names = set(), [module], set()
    while todo:
        name = todo.pop()
        path = ROOT / (name.replace(".", "/") + ".py")
        if not path.is_file():
            path = ROOT / name.replace(".", "/") / "__init__.py"
        if name in seen or name in SCHEMAS or not path.is_file():
            continue
        seen.add(name)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(node.value.split("."))
            else:
                names.update(getattr(node, field) for field in ("id", "attr", "arg") if isinstance(getattr(node, field, None), str))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vbvf"):
                todo += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                todo += [alias.name for alias in node.names if alias.name.startswith("vbvf")]
    return frozenset(names)


def interpolated(node) -> set[str]:
    """Dotted keys (and their parents) that interpolations (``${a.b}``) in ``node`` refer to: read
    wherever the referring key is."""
    if isinstance(node, dict):
        return set().union(*(interpolated(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(interpolated(value) for value in node))
    paths = re.findall(r"\$\{([\w.]+)\}", node) if isinstance(node, str) else []
    return {".".join(path.split(".")[: i + 1]) for path in paths for i in range(path.count(".") + 1)}


def unread_keys(node, names: frozenset[str], referred: set[str], path: str = "") -> list[str]:
    """Dotted keys under ``node`` that no interpolation refers to and whose name the code never
    mentions, or, in a ``_target_`` node, that are no argument of the target."""
    if isinstance(node, list):
        return [key for i, item in enumerate(node) for key in unread_keys(item, names, referred, f"{path[:-1]}[{i}].")]
    if not isinstance(node, dict):
        return []
    if "_target_" in node:
        parameters = inspect.signature(get_object(node["_target_"])).parameters
        return [f"{path}{key}" for key in node if key != "_target_" and key not in parameters]
    out = []
    for key, value in node.items():
        if key not in names and f"{path}{key}" not in referred:
            out.append(f"{path}{key}")
        out += unread_keys(value, names, referred, f"{path}{key}.")
    return out


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")))
def test_every_composed_key_is_read(compose_config, experiment):
    cfg = compose_config([f"experiment={experiment}"])
    pipeline = cfg.pipeline.rsplit(".", 1)[0]
    names = module_names(pipeline) | module_names("vbvf.run")
    config = OmegaConf.to_container(cfg, resolve=False)
    assert unread_keys(config, names, interpolated(config)) == []
