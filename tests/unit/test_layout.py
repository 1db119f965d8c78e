"""The engine's layout: capabilities in their own packages, the shared core beneath them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[2] / "audiolab"
CAPABILITIES = {"audio", "features", "augment", "griffinlim", "wav2vec2", "train", "batch", "compare"}
# a capability may build on another's engine where the tab does (Train's backbones are
# MFCC from Features and wav2vec2 from the wav2vec2 tab; Augment inverts masks with Griffin-Lim;
# Batch runs the recipes of Features, Augment and wav2vec2; the timeline, shared by every tab and
# no tab of its own, draws the Features tab's pitch, centroid and loudness as overlays)
ALLOWED = {"train": {"features", "wav2vec2"}, "augment": {"griffinlim"}, "batch": {"features", "augment", "wav2vec2"},
           "timeline": {"features"}}  # fmt: skip


def _imported_packages(path: Path) -> set[str]:
    """Top-level ``audiolab`` subpackages that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("audiolab."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "audiolab":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("audiolab."))
    return found


def test_every_tab_has_its_engine_package_and_ui_module():
    components = ENGINE.parent / "components"
    for name in CAPABILITIES:
        assert (ENGINE / name / "__init__.py").is_file(), name
        assert (components / f"{name}_tab.py").is_file(), name
    assert not [p.name for p in ENGINE.glob("*.py") if p.name != "__init__.py"], "no flat modules left"


@pytest.mark.parametrize("path", sorted(ENGINE.rglob("*.py")), ids=lambda p: str(p.relative_to(ENGINE)))
def test_core_imports_no_capability_and_capabilities_import_only_core(path):
    package = path.relative_to(ENGINE).parts[0] if len(path.relative_to(ENGINE).parts) > 1 else ""
    imported = _imported_packages(path) - {package}
    if package == "core":
        assert not imported & CAPABILITIES, f"core must not import a capability: {imported}"
    elif package:
        assert not (imported & CAPABILITIES) - ALLOWED.get(package, set()), imported
