"""nftables from this process: one table per cluster, changed only by transactions.

Two parts of the network program the kernel: partitions (`faults.KernelPartitions`, a
filter chain that drops traffic between pod addresses) and the kernel service proxy
(`kernel_proxy.KernelProxy`, a nat chain that DNATs ClusterIPs to endpoints). They share
one table per cluster, `ip redisha_<X>` (X being the cluster's range index), and each owns
its own chains in it: every change is one `nft` script run as one transaction that
(re)declares the chains it touches and rewrites only those, so the two writers never
undo each other and the kernel never shows a half-written ruleset. The table is removed
whole when the cluster stops, and a stale one left by a crashed cluster with the same
ranges is removed when the next one starts.

Scripts run through libnftables — the library behind the `nft` command — called in
process with ctypes: a transaction takes a fraction of a millisecond, where spawning
`nft -f -` takes some 20 ms. That is what lets the rules be rewritten synchronously on the
loop, in order with everything else, whenever Endpoints change. Where the library cannot
be loaded, the `nft` binary is run instead (same scripts, slower).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shutil
import subprocess
from collections.abc import Iterable

log = logging.getLogger(__name__)

FAMILY = "ip"
"""Our tables hold IPv4 rules only: pod and service ranges are 127.x addresses."""


class NftablesError(RuntimeError):
    """nftables refused a script, or cannot be driven from here; `str()` is nft's message."""


class _Library:
    """A libnftables context with output and errors buffered (nothing goes to stdout)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        self._lib = lib
        ctx = lib.nft_ctx_new(0)
        if not ctx:
            raise NftablesError("libnftables: cannot create a context")
        self._ctx: int | None = ctx
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)

    def run(self, script: str) -> None:
        if self._ctx is None:
            raise NftablesError("libnftables context already closed")
        if self._lib.nft_run_cmd_from_buffer(self._ctx, script.encode()) != 0:
            message = self._lib.nft_ctx_get_error_buffer(self._ctx) or b""
            raise NftablesError(_first_error(message.decode(errors="replace")))

    def close(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            self._lib.nft_ctx_free(ctx)


def _first_error(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else "nft failed"


def _load_library() -> _Library | None:
    name = ctypes.util.find_library("nftables") or "libnftables.so.1"
    try:
        return _Library(ctypes.CDLL(name))
    except (OSError, AttributeError, NftablesError):
        return None


class Nft:
    """Runs nft scripts, each as one transaction: in process through libnftables when it
    loads, else through the `nft` binary."""

    def __init__(self, *, use_library: bool = True) -> None:
        self._library = _load_library() if use_library else None

    @property
    def in_process(self) -> bool:
        return self._library is not None

    def run(self, script: str) -> None:
        """Apply `script` atomically; NftablesError (nft's first error line) if refused."""
        if self._library is not None:
            self._library.run(script)
            return
        nft = shutil.which("nft")
        if nft is None:
            raise NftablesError("nft not found (install Debian's nftables package)")
        try:
            result = subprocess.run([nft, "-f", "-"], input=script.encode(),
                                    capture_output=True, check=False, timeout=10)
        except (OSError, subprocess.SubprocessError) as exc:
            raise NftablesError(f"nft: {exc}") from exc
        if result.returncode != 0:
            raise NftablesError(_first_error(result.stderr.decode(errors="replace")))

    def close(self) -> None:
        if self._library is not None:
            self._library.close()
            self._library = None


def usable(nft: Nft | None = None) -> bool:
    """Can this process program nftables? (Needs libnftables or the `nft` binary, and
    CAP_NET_ADMIN.) Tried for real: a probe table is made and removed."""
    own = nft is None
    runner = nft if nft is not None else Nft()
    if not runner.in_process and shutil.which("nft") is None:
        return False
    probe = "redisha_probe"
    try:
        runner.run(f"add table {FAMILY} {probe}\ndelete table {FAMILY} {probe}\n")
    except NftablesError:
        return False
    finally:
        if own:
            runner.close()
    return True


class NftTable:
    """One cluster's table. Its users own chains in it and change them with `apply`."""

    def __init__(self, name: str, *, nft: Nft | None = None) -> None:
        self.name = name
        self.ref = f"{FAMILY} {name}"
        """How scripts name the table: `add chain {ref} services {...}`."""
        self._nft = nft if nft is not None else Nft()

    def apply(self, commands: Iterable[str]) -> None:
        """Run `commands` (nft command lines) as one transaction, creating the table first
        if it does not exist."""
        self._nft.run("\n".join([f"add table {self.ref}", *commands]) + "\n")

    def delete(self) -> None:
        """Remove the table and everything in it, if it exists (a stale one included)."""
        self._nft.run(f"add table {self.ref}\ndelete table {self.ref}\n")

    def close(self) -> None:
        """Remove the table and release the nft context."""
        try:
            self.delete()
        finally:
            self._nft.close()
