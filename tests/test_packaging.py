"""What a user gets from `pip install .`: every package, the default models inside the wheel,
and the third-party libraries the code imports declared as dependencies."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from click.testing import CliRunner

from ais.cli import main

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_under_ais_is_listed_for_the_wheel():
    """The package list is explicit (the top-level models/ folder is mapped in as
    ais.default_models), so a new subpackage must be added to it or `pip install .` would
    leave it out."""
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "ais").rglob("__init__.py")}
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed - {"ais.default_models"} == on_disk
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["ais.default_models"] == "models"


@pytest.mark.slow
def test_an_installed_wheel_scans_with_the_shipped_models(tmp_path):
    """Build the wheel from a copy of the checkout, install it (no dependencies: they are taken
    from this interpreter's site-packages through a .pth file, so nothing is downloaded), and
    scan the quickstart from a directory outside the checkout: the summary names the default
    models inside the installed package, and the CSV is the checkout's."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("ais", "models"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "-q", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, env=env, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("ais-*.whl"))

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, env=env)
    site = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, env=env).stdout.strip())
    # this interpreter's libraries, after the venv's own (its .pth files, such as an editable
    # install of the checkout, are not processed from a path added this way)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    shutil.copy2(FIXTURES / "quickstart.parquet", work / "quickstart.parquet")
    result = subprocess.run(
        [str(venv / "bin" / "ais"), "scan", "quickstart.parquet", "-o", "flagged.csv",
         "--no-state"], cwd=work, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    shipped = site.resolve() / "ais" / "default_models"  # the loader resolves symlinks
    assert f"scored with the shipped default models ({shipped})" in result.stderr
    assert "fitted the forests on the scanned data" not in result.stderr

    checkout = tmp_path / "checkout.csv"
    assert CliRunner().invoke(main, ["scan", str(FIXTURES / "quickstart.parquet"), "-o",
                                     str(checkout), "--no-state", "-q"]).exit_code == 0
    assert (work / "flagged.csv").read_bytes() == checkout.read_bytes()


def _inside_functions(tree: ast.AST) -> set[int]:
    """The ids of the nodes of ``tree`` inside a function body (run only when called)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            inside.update(id(n) for n in ast.walk(node) if n is not node)
    return inside


def _third_party_modules(lazy: bool | None = None) -> dict[str, set[str]]:
    """Top-level modules that ais/ imports (or locates with ``importlib.util.find_spec``),
    outside the standard library, each with the files that use it (``lazy``: only the
    imports inside functions (True) or only the others (False))."""
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ais").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inside = _inside_functions(tree) if lazy is not None else set()
        for node in ast.walk(tree):
            if lazy is not None and (id(node) in inside) != lazy:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "find_spec" and node.args
                  and isinstance(node.args[0], ast.Constant)):
                names = [str(node.args[0].value)]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "ais" and top not in sys.stdlib_module_names:
                    used.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return used


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(dep: str) -> tuple[str, set[str]]:
    """A requirement's distribution and what it installs by name: itself and its extras
    (``dask[distributed]``: dask and distributed)."""
    match = re.match(r"([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?", dep)
    name = _normalise(match.group(1))
    extras = {_normalise(e.strip()) for e in (match.group(2) or "").split(",") if e.strip()}
    return name, {name} | extras


#: Extras of features that import their libraries only when used (inside functions).
OPTIONAL_EXTRAS = ("cluster",)


def _needed(lazy: bool | None = None) -> dict[str, set[str]]:
    distributions = packages_distributions()
    needed: dict[str, set[str]] = {}
    for module, files in _third_party_modules(lazy).items():
        assert module in distributions, f"{module} (imported by {sorted(files)}) is not installed"
        for dist in distributions[module]:
            needed.setdefault(_normalise(dist), set()).update(files)
    return needed


def test_the_declared_dependencies_are_exactly_the_libraries_the_code_imports():
    """A library imported but not declared works here only by luck (geopandas came with
    movingpandas); one declared but never used is installed for nothing. A library of an
    optional extra (``pip install 'ais[cluster]'``) is imported only inside the functions
    of its feature, so that ``import ais`` and every command without it work without it."""
    declared = {_requirement(dep)[0] for dep in PYPROJECT["project"]["dependencies"]}
    optional: dict[str, set[str]] = {}
    for extra in OPTIONAL_EXTRAS:
        for dep in PYPROJECT["project"]["optional-dependencies"][extra]:
            optional[extra] = optional.get(extra, set()) | _requirement(dep)[1]
    everywhere = _needed()
    undeclared = {dist: sorted(files) for dist, files in everywhere.items()
                  if dist not in declared and not any(dist in o for o in optional.values())}
    assert not undeclared, f"imported but not in pyproject's dependencies: {undeclared}"
    unused = sorted(declared - set(everywhere))
    assert not unused, f"in pyproject's dependencies but never imported by ais/: {unused}"
    for extra, dists in optional.items():
        assert dists & set(everywhere), f"extra {extra!r}: none of {sorted(dists)} is imported"
        eager = {dist: sorted(files) for dist, files in _needed(lazy=False).items()
                 if dist in dists and dist not in declared}
        assert not eager, f"extra {extra!r} imported outside a function: {eager}"
        for dep in PYPROJECT["project"]["optional-dependencies"][extra]:
            assert dep in PYPROJECT["project"]["optional-dependencies"]["test"], (
                f"{dep} (extra {extra!r}) is not in the test extra: CI would skip its tests")
