"""The real backend's `redisha/sentinel` image: the built-in Sentinel as a real process.

Like `redisha.server.real` does for redis-server, the image's programs are small shell
wrappers that read the pod's address from its hosts file and run `python -m
redisha.sentinel` bound to it (`--bind`) and connecting from it (`--bind-source-addr`), with
this interpreter and this checkout on PYTHONPATH. `redis-server CONF --sentinel` works too;
`redis-server` without `--sentinel` says this image runs only Sentinel and exits 1.
`redis-cli` is the machine's, defaulting to the pod's address, when installed.
"""

from __future__ import annotations

import shlex
import shutil
import sys

from cluster.runtime.process import ProcessImage
from redisha.sentinel.image import IMAGE_NAME
from redisha.server import real as server_real


def sentinel_script(program: str) -> str:
    """The wrapper running the built-in Sentinel as `program`."""
    python = shlex.quote(sys.executable)
    root = shlex.quote(server_real.checkout_root())
    needs_flag = ""
    if program == "redis-server":
        needs_flag = """case " $* " in
    *" --sentinel "*) ;;
    *) echo "redis-server: the redisha/sentinel image runs only Sentinel: start it as redis-sentinel CONF or redis-server CONF --sentinel" >&2
       exit 1 ;;
esac
"""
    return f"""#!/bin/sh
# {program} of the real backend: redisha's built-in Sentinel, bound to this pod's address.
case "${{1-}}" in
    -v|--version) PYTHONPATH={root} exec {python} -m redisha.sentinel --version ;;
esac
{needs_flag}{server_real.pod_address(program)}
# A config file's relative path means the directory the user started in.
case "${{1-}}" in
    ''|-|/*|--*) ;;
    *) first=$1; shift; set -- "$PWD/$first" "$@" ;;
esac
{server_real.exec_module("redisha.sentinel", '--bind "$pod_ip" --bind-source-addr "$pod_ip"')}"""


def process_image() -> ProcessImage:
    """The image: entrypoint `redis-sentinel`."""
    scripts = {"redis-sentinel": sentinel_script("redis-sentinel"),
               "redis-server": sentinel_script("redis-server")}
    cli = shutil.which("redis-cli")
    if cli is not None:
        scripts["redis-cli"] = server_real.client_script("redis-cli", cli)
    return ProcessImage(name=IMAGE_NAME, entrypoint=("redis-sentinel",), scripts=scripts)
