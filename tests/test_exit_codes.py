"""The exit codes are declared once (ais.errors.ExitCode); the help and the README say the same."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from ais.cli import main
from ais.errors import ExitCode

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_exit_codes() -> dict[int, str]:
    """The ``- N: meaning`` list under README's **Exit codes** paragraph."""
    text = README.read_text(encoding="utf-8")
    block = text[text.index("**Exit codes**"):]
    block = block[: block.index("\n\n", block.index("\n- "))]
    return {int(m[1]): m[2] for m in re.finditer(r"^- (\d+): (.+)$", block, re.MULTILINE)}


def test_the_readme_lists_exactly_the_declared_exit_codes():
    assert _readme_exit_codes() == {int(c): c.meaning for c in ExitCode}


def test_the_help_lists_each_exit_code_with_its_meaning():
    scan = " ".join(CliRunner().invoke(main, ["scan", "--help"]).output.split())
    top = " ".join(CliRunner().invoke(main, ["--help"]).output.split())
    for code in ExitCode:
        assert f"{int(code)} {code.meaning}" in scan and f"{int(code)} {code.meaning}" in top


def test_train_does_not_promise_the_state_exit_code():
    train = " ".join(CliRunner().invoke(main, ["train", "--help"]).output.split())
    assert ExitCode.SKIPPED_FILES.meaning in train
    assert ExitCode.STATE_BUSY.meaning not in train
