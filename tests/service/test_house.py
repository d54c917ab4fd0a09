"""The structure rules of issue 14 ("the house"), held by the analysis in
scripts/house_figures.py: the kernel imports no domain, app modules import in no cycle,
the media worker loads no Flask, and modules with views neither commit nor roll back."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKER = "consult.calls.media.worker"


def _load_figures() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "house_figures", ROOT / "scripts/house_figures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


house = _load_figures()


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_core_imports_no_domain() -> None:
    """No module in core/ imports activation, accounts, consult or service, at any level."""
    assert house.core_domain_imports(ROOT) == []


def test_app_modules_import_in_no_cycle() -> None:
    """No app module imports one that imports it back, with function-level imports counted."""
    assert house.import_cycles(ROOT) == []


def test_media_worker_loads_no_flask() -> None:
    """The media worker imports in a fresh interpreter without pulling Flask in."""
    code = f"import sys, {WORKER}; assert 'flask' not in sys.modules, 'flask loaded'"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_modules_with_views_do_not_commit() -> None:
    """Modules that define Flask views hold no `.commit()` or `.rollback()` call."""
    assert [row for row in house.handler_commits(ROOT) if row[2]] == []


def test_cycle_is_found_through_a_function_level_import(tmp_path: Path) -> None:
    """The checker sees a cycle closed inside a function, and none through TYPE_CHECKING."""
    root = _write(
        tmp_path,
        {
            "consult/__init__.py": "",
            "consult/a.py": "from consult.b import x\n",
            "consult/b.py": "x = 1\ndef f():\n    from consult import a\n",
            "core/__init__.py": "",
            "core/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from core.d import y\n",
            "core/d.py": "from core.c import TYPE_CHECKING as y\n",
        },
    )
    assert house.import_cycles(root) == [["consult.a", "consult.b"]]


def test_parent_packages_are_no_edges(tmp_path: Path) -> None:
    """`from pkg import submodule` inside pkg is no cycle with pkg/__init__; a name is."""
    package = {
        "accounts/__init__.py": "bp = 1\ndef register():\n    from accounts import routes\n",
        "accounts/models.py": "",
    }
    submodules_only = {**package, "accounts/routes.py": "from accounts import models\n"}
    with_a_name = {**package, "accounts/routes.py": "from accounts import bp, models\n"}
    assert house.import_cycles(_write(tmp_path / "a", submodules_only)) == []
    cycles = house.import_cycles(_write(tmp_path / "b", with_a_name))
    assert cycles == [["accounts", "accounts.routes"]]


@pytest.mark.parametrize(
    ("source", "commits"),
    [
        ("@bp.post('/x')\ndef view():\n    db.session.commit()\n", 1),
        ("def view():\n    db.session.rollback()\napp.add_url_rule('/x', 'x', view)\n", 1),
        ("def helper():\n    db.session.commit()\n", None),
    ],
)
def test_commits_in_views_are_counted(tmp_path: Path, source: str, commits: int | None) -> None:
    """Commits are counted in view modules (by decorator or add_url_rule) and only there."""
    root = _write(tmp_path, {"core/views.py": source})
    expected = [] if commits is None else [("core/views.py", commits, commits)]
    assert house.handler_commits(root) == expected


FEATURES = ("duty", "calls", "schedule", "documents")
ALLOWED_SIDEWAYS = {("schedule", "documents")}  # attaching documents to an appointment


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "consult" and parts[1] in FEATURES \
        else None


def test_consult_features_do_not_import_each_other() -> None:
    """A consult feature imports the consult kernel, accounts, activation and core, never
    another feature (schedule -> documents aside); the kernel imports no feature."""
    crossings = []
    for source, targets in house.import_graph(ROOT).items():
        if not source.startswith("consult.") or source == "consult.wiring":
            continue  # the wiring is where the features are plugged in
        for target in targets:
            pair = (_feature(source), _feature(target))
            if pair[1] is not None and pair[0] != pair[1] and pair not in ALLOWED_SIDEWAYS:
                crossings.append(f"{source} -> {target}")
    assert crossings == []


def test_routes_never_import_another_blueprints_routes() -> None:
    """A route module is imported only by the wiring that registers it."""
    importers = [f"{source} -> {target}" for source, targets in house.import_graph(ROOT).items()
                 for target in targets
                 if target.endswith(".routes") and not source.endswith(".wiring")
                 and source != "service"]
    assert importers == []
