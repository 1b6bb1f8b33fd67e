"""The fake runtime's `redis` image: `redis-server` (the entrypoint) and `redis-cli`.

The composition root registers it into each node's fake runtime:
`FakeRuntime(ImageRegistry([redis_image()]))`.
"""

from __future__ import annotations

import functools

from cluster.runtime.images import Image
from redisha.server.cli import RedisCli
from redisha.server.program import RedisServerProgram
from redisha.server.server import ServerSettings


def redis_image(settings: ServerSettings | None = None) -> Image:
    """The image; `settings` shortens the fake's own intervals (tests)."""
    server = functools.partial(RedisServerProgram, settings or ServerSettings())
    return Image(name="redis", programs={"redis-server": server, "redis-cli": RedisCli},
                 entrypoint=("redis-server",))


REDIS = redis_image()
"""The image with default settings."""
