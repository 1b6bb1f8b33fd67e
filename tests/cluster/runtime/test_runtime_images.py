"""Image references, registries and the program-running rules of the fake runtime."""

from __future__ import annotations

import asyncio

import pytest
from runtime_helpers import StubSandbox

from cluster.runtime import base, images, isolation


class Noop:
    async def run(self, ctx: images.ProgramContext) -> int:
        return 0


REDIS = images.Image("redis", {"redis-server": Noop}, ("redis-server",))
ACME = images.Image("acme/redis", {"redis-server": Noop}, ("redis-server",))


@pytest.mark.parametrize("ref, canonical, name", [
    pytest.param("redis", "docker.io/library/redis:latest", "redis", id="short"),
    pytest.param("redis:7", "docker.io/library/redis:7", "redis", id="tag"),
    pytest.param("docker.io/library/redis:latest", "docker.io/library/redis:latest", "redis",
                 id="canonical"),
    pytest.param("redis@sha256:abc", "docker.io/library/redis@sha256:abc", "redis", id="digest"),
    pytest.param("bitnami/redis:7.2", "docker.io/bitnami/redis:7.2", "bitnami/redis",
                 id="user-repo"),
    pytest.param("localhost:5000/redis", "localhost:5000/redis:latest", "redis",
                 id="registry-port"),
    pytest.param("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", "pause",
                 id="other-registry"),
])
def test_reference_parsing(ref: str, canonical: str, name: str) -> None:
    """References normalise the way Docker's do."""
    parsed = images.ImageReference.parse(ref)
    assert (parsed.canonical, parsed.name) == (canonical, name)


@pytest.mark.parametrize("ref, expected", [
    pytest.param("redis", REDIS, id="short"),
    pytest.param("docker.io/library/redis:7", REDIS, id="canonical"),
    pytest.param("quay.io/acme/redis:1", ACME, id="exact-repo"),
    pytest.param("quay.io/other/redis", REDIS, id="last-component-fallback"),
])
def test_registry_matches_references(ref: str, expected: images.Image) -> None:
    """Any reference to a registered image finds it, preferring the exact repository."""
    registry = images.ImageRegistry([REDIS, ACME])
    assert registry.resolve(ref) is expected


def test_unknown_image_says_what_containerd_says() -> None:
    """An unknown image raises ImagePullError in containerd's wording."""
    with pytest.raises(base.ImagePullError) as caught:
        images.ImageRegistry([REDIS]).resolve("nosuch")
    assert str(caught.value) == (
        'failed to pull and unpack image "docker.io/library/nosuch:latest": failed to resolve '
        'reference "docker.io/library/nosuch:latest": docker.io/library/nosuch:latest: not found')


def _ctx(tmp_path, lines: list[tuple[str, str]]) -> images.ProgramContext:
    view = isolation.ContainerView(hostname="web-0", tmp_dir=str(tmp_path / "tmp"),
                                   rootfs=str(tmp_path / "rootfs"))
    return images.ProgramContext(argv=["p"], env={}, hostname="web-0",
                                 sandbox=StubSandbox("web-0"), view=view,
                                 output=lambda s, t: lines.append((s, t)))


class Returns:
    def __init__(self, value: object) -> None:
        self.value = value

    async def run(self, ctx: images.ProgramContext) -> object:
        if isinstance(self.value, BaseException):
            raise self.value
        return self.value


@pytest.mark.parametrize("value, code, stderr", [
    pytest.param(3, 3, [], id="returned-code"),
    pytest.param(None, 0, [], id="none-is-zero"),
    pytest.param(ValueError("boom"), 1, ["ValueError: boom"], id="exception"),
    pytest.param(SystemExit(4), 4, [], id="system-exit"),
    pytest.param(KeyError("k"), 1, ["KeyError: 'k'"], id="key-error"),
])
async def test_run_program_exit_codes(tmp_path, value: object, code: int,
                                      stderr: list[str]) -> None:
    """A program's return value, exception or SystemExit becomes its exit code."""
    lines: list[tuple[str, str]] = []
    assert await images.run_program(lambda: Returns(value), _ctx(tmp_path, lines)) == code
    assert [t for s, t in lines if s == "stderr"] == stderr


async def test_run_program_lets_cancellation_through(tmp_path) -> None:
    """Cancelling a program's task is the kill, not an error exit."""
    class Forever:
        async def run(self, ctx: images.ProgramContext) -> int:
            await asyncio.Event().wait()
            return 0

    task = asyncio.create_task(images.run_program(Forever, _ctx(tmp_path, [])))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_context_open_maps_tmp_and_creates_directories(tmp_path) -> None:
    """ctx.open writes a container's /tmp file into its private host directory."""
    ctx = _ctx(tmp_path, [])
    with ctx.open("/tmp/conf/redis.conf", "w") as f:
        f.write("port 6379\n")
    assert (tmp_path / "tmp" / "conf" / "redis.conf").read_text() == "port 6379\n"
    assert ctx.host_path("/data/dump.rdb") == str(tmp_path / "rootfs" / "data" / "dump.rdb")
