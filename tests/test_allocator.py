"""The batch process tuning (ais.runtime.allocator): applied on glibc Linux, harmless elsewhere, and
the same one for scan and train."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import numpy as np
import pyarrow as pa
from click.testing import CliRunner

from ais.cli import main
from ais.runtime import allocator
from ais.runtime.allocator import keep_freed_memory

from .conftest import FIXTURES


def test_freed_memory_is_kept_for_reuse_on_glibc_and_arrow_shares_the_heap():
    applied = keep_freed_memory()
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert applied == on_glibc
    if applied:
        assert pa.default_memory_pool().backend_name == "system"
    # allocation still works, big and small, after tuning
    big = np.ones(20_000_000)
    assert big.sum() == 20_000_000
    assert pa.array(range(1000)).sum().as_py() == 499500


def test_one_call_tunes_the_whole_process():
    """In a process of its own: the tuning changes process-wide settings for good."""
    probe = ("import gc, json, sys, pyarrow as pa\n"
             "before = sys.getswitchinterval()\n"
             "from ais.runtime.allocator import tune_batch_process\n"
             "tune_batch_process()\n"
             "pool = pa.default_memory_pool().backend_name\n"
             "print(json.dumps([before, sys.getswitchinterval(), gc.get_threshold()[0],\n"
             "                  gc.get_freeze_count() > 0, pool]))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True).stdout
    before, after, threshold, frozen, pool = json.loads(out)
    assert after < before and threshold == 50_000 and frozen
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    if on_glibc:
        assert pool == "system"


def test_scan_and_train_tune_the_process_through_the_same_function(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(allocator, "tune_batch_process", lambda: calls.append("tuned"))
    quick = str(FIXTURES / "quickstart.parquet")
    assert CliRunner().invoke(main, ["scan", quick, "-o", str(tmp_path / "f.csv"), "--no-state",
                                     "-q"]).exit_code == 0
    assert calls == ["tuned"]
    assert CliRunner().invoke(main, ["train", quick, "--models", str(tmp_path / "m"),
                                     "-q"]).exit_code == 0
    assert calls == ["tuned", "tuned"]
