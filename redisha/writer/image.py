"""The `redisha/writer` image, for both backends.

The fake backend runs the writer in-process (`writer_image`); the real backend runs the
same loop as `python -m redisha.writer`, bound to the pod's address (`process_image`), with
this interpreter and this checkout on PYTHONPATH, as the memcached sample does.
"""

from __future__ import annotations

import sys

from cluster.runtime.images import Image
from cluster.runtime.process import ProcessImage
from redisha.server.real import exec_module, pod_address
from redisha.writer.program import WriterProgram

IMAGE_NAME = "redisha/writer"
PROGRAM = "redisha-writer"


def writer_image() -> Image:
    """The fake image: one program, `redisha-writer`, which is also the entrypoint."""
    return Image(name=IMAGE_NAME, programs={PROGRAM: WriterProgram}, entrypoint=(PROGRAM,))


def process_image(python: str = sys.executable) -> ProcessImage:
    """The process runtime's image: `redisha-writer [options]` runs the writer with
    `python`, connecting from the pod's address."""
    script = f"""#!/bin/sh
# {PROGRAM} of the real backend: redisha's demo writer as a process.
{pod_address(PROGRAM)}{exec_module("redisha.writer", '--bind "$pod_ip"', python)}"""
    return ProcessImage(name=IMAGE_NAME, entrypoint=(PROGRAM,), scripts={PROGRAM: script})
