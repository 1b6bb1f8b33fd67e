"""Persistence: acknowledged writes survive a process killed without a clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from cluster.store import Store

WRITER = textwrap.dedent("""
    import sys
    from cluster.store import Store
    s = Store(path=sys.argv[1])
    i = 0
    while True:
        name = f"p{i}"
        obj = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "default", "uid": name},
               "spec": {"n": i}}
        s.create("pods", obj)
        if i % 3 == 2:
            s.delete("pods", "default", f"p{i - 1}")
            print(f"del p{i - 1} {s.revision}", flush=True)
        print(f"ack {name} {s.revision}", flush=True)
        i += 1
""")


def test_killed_process_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """SIGKILL mid-stream; on restart every acked create/delete holds and revisions go on."""
    db = tmp_path / "state.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[2])
    acked: dict[str, int] = {}
    deleted: set[str] = set()
    last_rev = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        verb, name, rev = line.split()
        last_rev = int(rev)
        if verb == "ack":
            acked[name] = last_rev
        else:
            deleted.add(name)
        if len(acked) >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    s = Store(path=str(db))
    assert s.revision >= last_rev
    for name in acked:
        present = s.try_get("pods", "default", name) is not None
        assert present == (name not in deleted), name
    before = s.revision
    s.create("pods", {"metadata": {"name": "after", "namespace": "default"}})
    assert s.revision == before + 1
    s.close()
    reopened = Store(path=str(db))
    assert reopened.get("pods", "default", "after")["metadata"]["resourceVersion"] == str(before + 1)
    reopened.close()
