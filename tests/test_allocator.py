"""The scan's allocator tuning (ais.allocator): applied on glibc Linux, harmless elsewhere."""

from __future__ import annotations

import platform

import numpy as np
import pyarrow as pa

from ais.allocator import keep_freed_memory


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
