"""The fake runtime's `memcached` image (`memcached:1.4.36-alpine` resolves to it).

The composition root registers it next to the redis image:
`FakeRuntime(ImageRegistry([redis_image(), memcached_image()]))`.
"""

from __future__ import annotations

from cluster.runtime.images import Image
from redisha.samples.memcached.program import MemcachedProgram


def memcached_image() -> Image:
    """The image: one program, `memcached`, which is also the entrypoint."""
    return Image(name="memcached", programs={"memcached": MemcachedProgram},
                 entrypoint=("memcached",))
