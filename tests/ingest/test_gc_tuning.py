"""tune_gc: what start-up made is frozen, the young generation is collected less often,
and reference cycles made afterwards are still collected (in a child process: the
collector's settings are process-wide)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CHILD = textwrap.dedent("""
    import gc, weakref
    from ingest.service import GC_YOUNG_THRESHOLD, tune_gc

    class Node:
        pass

    default = gc.get_threshold()
    tune_gc()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *default[1:]), gc.get_threshold()
    assert gc.get_freeze_count() > 1000, gc.get_freeze_count()
    node = Node()
    node.self = node
    gone = weakref.ref(node)
    del node
    kept = [[] for _ in range(2 * GC_YOUNG_THRESHOLD)]  # live allocations set one off
    assert gone() is None, "a cycle made after tune_gc was not collected"
    print("ok")
""")


def test_tune_gc_freezes_start_up_and_still_collects_cycles() -> None:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
