"""Imports point one way: a lower layer never imports a higher one (read with ``ast``).

From the bottom: errors, number text and the labels of the label functions; the metrics and the xlsx package (shared file
handling, below both recalc and templates); the registry; the cell rules (adapter); the
Python API, xlwings and docs; recalc and templates; the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "xlfuncs"

#: Module (or package prefix) -> layer; a module may import only its own layer or lower.
LAYERS = {
    "xlfuncs.errors": 0,
    "xlfuncs.numtext": 0,
    "xlfuncs.labels": 0,
    "xlfuncs.backend": 1,
    "xlfuncs.metrics": 1,
    "xlfuncs.billing": 1,
    "xlfuncs.sbg": 1,
    "xlfuncs.xlsx": 1,
    "xlfuncs.registry": 2,
    "xlfuncs.adapter": 3,
    "xlfuncs": 4,  # the package itself: the Python API
    "xlfuncs.api": 4,
    "xlfuncs.frames": 4,
    "xlfuncs.docs": 4,
    "xlfuncs.udfs": 4,
    "xlfuncs.recalc": 5,
    "xlfuncs.templates": 5,
    "xlfuncs.cli": 6,
    "xlfuncs.__main__": 6,
}


def _layer(module: str) -> int:
    best = None
    for prefix in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best)):
            best = prefix
    assert best is not None, f"{module} has no layer: add it to LAYERS"
    return LAYERS[best]


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        yield name, (name if is_package else name.rpartition(".")[0]), path


def imports(module: str, package: str, path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of every xlfuncs import of a file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] == "xlfuncs"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "xlfuncs":
                continue
            for alias in node.names:
                # "from . import engine" imports a module; "from .engine import run" a name.
                sub = f"{target}.{alias.name}"
                if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() or (
                    PACKAGE.parent / sub.replace(".", "/")
                ).is_dir():
                    out.append((sub, None, node.lineno))
                else:
                    out.append((target, alias.name, node.lineno))
    return out


ALL = [(name, package, path) for name, package, path in _modules()]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def violations(module: str, package: str, path: Path) -> list[str]:
    """Every import of a file that points the wrong way, as one line each."""
    wrong = []
    for target, name, line in imports(module, package, path):
        shown = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path.name
        where = f"{shown}:{line} imports {target}{'.' + name if name else ''}"
        if _layer(target) > _layer(module):
            wrong.append(f"{where}: layer {_layer(target)} above {_layer(module)}")
        if _within(module, "xlfuncs.xlsx") and not any(
            _within(target, ok) for ok in ("xlfuncs.xlsx", "xlfuncs.errors", "xlfuncs.numtext")
        ):
            wrong.append(f"{where}: the xlsx package stands on errors and number text only")
        if _within(module, "xlfuncs.recalc") and _within(target, "xlfuncs.templates"):
            wrong.append(f"{where}: recalc knows nothing of the templates")
        if _within(module, "xlfuncs.templates") and _within(target, "xlfuncs.recalc"):
            if not (target == "xlfuncs.recalc" and name == "run"):
                wrong.append(f"{where}: templates use recalc through xlfuncs.recalc.run only")
        # The warm-up job runs inside soffice too, and imports the add-in ahead of time.
        in_soffice = module == "xlfuncs.recalc.warmup"
        if not in_soffice and (target == "xlfuncs.recalc.addin" or (target == "xlfuncs.recalc" and name == "addin")):
            wrong.append(f"{where}: the add-in runs inside soffice; share names through recalc.lonames")
    return wrong


@pytest.mark.parametrize("module,package,path", ALL, ids=[m for m, _, _ in ALL])
def test_imports_point_down(module, package, path):
    wrong = violations(module, package, path)
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The walker resolves relative imports, so a violation cannot hide behind dots."""
    fake = tmp_path / "fake.py"
    fake.write_text("from ..templates import generate\nfrom .engine import run\n")
    assert imports("xlfuncs.recalc.workbook", "xlfuncs.recalc", fake) == [
        ("xlfuncs.templates.generate", None, 1),
        ("xlfuncs.recalc.engine", "run", 2),
    ]
    assert len(violations("xlfuncs.recalc.workbook", "xlfuncs.recalc", fake)) == 1
    fake.write_text("from ..recalc import run\nfrom ..recalc.engine import recalc_file\nfrom .. import cli\n")
    found = violations("xlfuncs.templates.generate", "xlfuncs.templates", fake)
    assert len(found) == 2 and "recalc.engine" in found[0] and "xlfuncs.cli" in found[1]
    fake.write_text("from ..recalc import formula\nfrom ..errors import ExcelError\n")
    assert [v.split(" ")[0] for v in violations("xlfuncs.xlsx.cells", "xlfuncs.xlsx", fake)] == ["fake.py:1"] * 2
    fake.write_text("from .. import metrics\n")  # the same layer, but not what xlsx stands on
    assert len(violations("xlfuncs.xlsx.cells", "xlfuncs.xlsx", fake)) == 1
    fake.write_text("from .recalc.addin import CALC_PREFIX\n")
    assert violations("xlfuncs.api", "xlfuncs", fake)
