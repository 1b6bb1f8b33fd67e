"""The runtime's directory is made when a container first needs a file, not before."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from runtime_helpers import StubSandbox, config
from test_runtime_fake import APP, lines, run

from cluster.runtime import base


async def test_pause_containers_touch_no_disk(make_fake, settings) -> None:
    """A node running only `pause` never makes its directory (a thousand nodes would)."""
    runtime = make_fake()
    cid = await runtime.create_container(config("p", "pause"), StubSandbox("p"))
    await runtime.start_container(cid)
    assert runtime.status(cid).state is base.ContainerState.RUNNING
    state = Path(settings.state_dir)
    assert not state.exists() or list(state.iterdir()) == []
    await runtime.stop_container(cid, 5)
    await runtime.remove_container(cid)


async def test_a_program_that_writes_gets_a_private_directory(make_fake, settings,
                                                              wait_for) -> None:
    """The first write makes the runtime's directory, owner-only as `mkdtemp` makes it;
    closing the runtime removes it."""
    runtime = make_fake(APP)
    cid = await run(runtime, "web-0", "write-conf")
    await wait_for(lambda: lines(runtime, cid) == ["written"])
    [root] = list(Path(settings.state_dir).iterdir())
    assert root.name.startswith("redisha-fake-")
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert (await runtime.exec(cid, ["cat-conf", "/tmp/x.conf"])).stdout == b"x 0\n"
    await runtime.close()
    assert not root.exists()
