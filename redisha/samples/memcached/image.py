"""The `memcached` image (`memcached:1.4.36-alpine` resolves to it), for both backends.

The fake backend runs it in-process (`memcached_image`); the real backend runs the same
server as a real process, `python -m redisha.samples.memcached`, bound to the pod's
address (`process_image`): this machine need not have memcached installed, and the
sample is about the operator, not about memcached's internals.
"""

from __future__ import annotations

import sys

from cluster.runtime.images import Image
from cluster.runtime.process import ProcessImage
from redisha.samples.memcached.program import MemcachedProgram
from redisha.server.real import exec_module, pod_address


def memcached_image() -> Image:
    """The image: one program, `memcached`, which is also the entrypoint."""
    return Image(name="memcached", programs={"memcached": MemcachedProgram},
                 entrypoint=("memcached",))


def process_image(python: str = sys.executable) -> ProcessImage:
    """The process runtime's image: `memcached [flags]` runs this package's server with
    `python`, listening on the pod's address whatever `-l` says (a pod has no other).

    The child imports the very `redisha` this process runs (its directory leads
    PYTHONPATH), whether or not the package is installed where `python` looks."""
    script = f"""#!/bin/sh
# memcached of the real backend: redisha's memcached server as a process.
{pod_address("memcached")}{exec_module("redisha.samples.memcached", '-l "$pod_ip"', python)}"""
    return ProcessImage(name="memcached", entrypoint=("memcached",),
                        scripts={"memcached": script})
