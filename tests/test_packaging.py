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


def _third_party_modules() -> dict[str, set[str]]:
    """Top-level modules that ais/ imports (or locates with ``importlib.util.find_spec``),
    outside the standard library, each with the files that use it."""
    used: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ais").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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


def test_the_declared_dependencies_are_exactly_the_libraries_the_code_imports():
    """A library imported but not declared works here only by luck (geopandas came with
    movingpandas); one declared but never used is installed for nothing."""
    declared = {_normalise(re.match(r"[A-Za-z0-9._-]+", dep).group())
                for dep in PYPROJECT["project"]["dependencies"]}
    distributions = packages_distributions()
    needed: dict[str, set[str]] = {}
    for module, files in _third_party_modules().items():
        assert module in distributions, f"{module} (imported by {sorted(files)}) is not installed"
        for dist in distributions[module]:
            needed.setdefault(_normalise(dist), set()).update(files)
    undeclared = {dist: sorted(files) for dist, files in needed.items() if dist not in declared}
    assert not undeclared, f"imported but not in pyproject's dependencies: {undeclared}"
    unused = sorted(declared - set(needed))
    assert not unused, f"in pyproject's dependencies but never imported by ais/: {unused}"
