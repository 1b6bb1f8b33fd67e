"""The fake runtime's `redisha/sentinel` image: the built-in Sentinel, in process.

Programs: `redis-sentinel` (the entrypoint), `redis-server` (only with `--sentinel`, as
`redis-server /tmp/sentinel.conf --sentinel` starts a real Sentinel) and `redis-cli` (for
`kubectl exec … -- redis-cli -p 26379 …`). The composition root registers it next to the
`redis` image: `FakeRuntime(ImageRegistry([redis_image(), sentinel_image()]))`.
"""

from __future__ import annotations

import functools

from cluster.runtime.images import Image
from redisha.sentinel.program import SentinelProgram
from redisha.sentinel.settings import SentinelSettings
from redisha.server.cli import RedisCli

IMAGE_NAME = "redisha/sentinel"


def sentinel_image(settings: SentinelSettings | None = None) -> Image:
    """The image; `settings` shortens the sentinel's periods (tests)."""
    chosen = settings or SentinelSettings()
    return Image(name=IMAGE_NAME, programs={
        "redis-sentinel": functools.partial(SentinelProgram, chosen),
        "redis-server": functools.partial(SentinelProgram, chosen, via_server=True),
        "redis-cli": RedisCli,
    }, entrypoint=("redis-sentinel",))
