"""The `redisha-writer` program of the fake `redisha/writer` image."""

from __future__ import annotations

from dataclasses import dataclass

from cluster.runtime import images
from redisha.writer import options as options_mod
from redisha.writer.loop import WriterLoop


@dataclass
class WriterProgram:
    """One run of `redisha-writer [options]` inside a fake container: connections go out
    through the pod's sandbox (cluster DNS, partitions and frozen pods apply)."""

    async def run(self, ctx: images.ProgramContext) -> int:
        try:
            options = options_mod.parse(ctx.argv[1:], default_prefix=ctx.hostname)
        except options_mod.UsageError as exc:
            ctx.stderr(str(exc))
            ctx.stderr(options_mod.USAGE)
            return 2
        loop = WriterLoop(options, dial=ctx.sandbox.open_connection, output=ctx.stdout)
        return await loop.run(ctx.stop_requested)
