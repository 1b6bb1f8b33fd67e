"""`pods/log` over HTTP: plain bodies with kube's options, follow streams, and Statuses."""

from __future__ import annotations

import asyncio
import re

from cluster.embedded import EmbeddedCluster
from tests.cluster.http.podstreams_helpers import Served, serving
from tests.cluster.pod_io_helpers import eventually, pod, started

STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (.*)$")


async def body(s: Served, name: str, **params: str) -> tuple[int, str, str]:
    """(status, content type, text) of a log request."""
    async with s.session.get(s.url(name, "log"), params=params) as r:
        return r.status, r.content_type, await r.text()


async def has_line(cluster: EmbeddedCluster, name: str, text: str) -> bool:
    return text in [line.text for line in await cluster.client.pod_logs(name)]


async def talking(s: Served, name: str, *lines: str, restart: str = "Always") -> None:
    """A running toolbox pod that has written `attempt 0` and then `lines`."""
    await s.cluster.client.create(pod(name, restart=restart))
    await started(s.cluster, name)
    for line in lines:
        s.feed.say(name, line)
    last = lines[-1] if lines else "attempt 0"
    await eventually(lambda: has_line(s.cluster, name, last), what=f"line {last!r}")


async def test_logs_body_with_tail_timestamps_since_and_limit() -> None:
    """A text/plain body; tailLines, timestamps, sinceSeconds/sinceTime and limitBytes apply."""
    async with serving() as s:
        await talking(s, "box", "one", "two")
        assert await body(s, "box") == (200, "text/plain", "attempt 0\none\ntwo\n")
        assert (await body(s, "box", tailLines="2"))[2] == "one\ntwo\n"
        assert (await body(s, "box", tailLines="0"))[2] == ""
        stamped = (await body(s, "box", timestamps="true", tailLines="1"))[2]
        match = STAMPED.match(stamped.rstrip("\n"))
        assert match and match.group(2) == "two", stamped
        assert (await body(s, "box", limitBytes="12"))[2] == "attempt 0\non"
        assert (await body(s, "box", sinceSeconds="60"))[2] == "attempt 0\none\ntwo\n"
        assert (await body(s, "box", sinceTime="2000-01-01T00:00:00Z"))[2].count("\n") == 3
        s.clock_offset = 3600.0  # an hour on: every line is older than a minute
        assert (await body(s, "box", sinceSeconds="60"))[2] == ""


async def test_logs_refusals_are_statuses() -> None:
    """Bad options, a missing pod, an unnamed container, no previous attempt: a Status each."""
    async with serving() as s:
        await talking(s, "box")
        await s.cluster.client.create(pod("duo", "a", "b"))
        cases = [
            ("box", {"tailLines": "-1"}, 422,
             'PodLogOptions "box" is invalid: tailLines: Invalid value: -1: '
             "must be greater than or equal to 0"),
            ("box", {"tailLines": "ten"}, 400, 'strconv.ParseInt: parsing "ten": invalid syntax'),
            ("box", {"limitBytes": "0"}, 422,
             'PodLogOptions "box" is invalid: limitBytes: Invalid value: 0: '
             "must be greater than 0"),
            ("box", {"sinceSeconds": "5", "sinceTime": "2000-01-01T00:00:00Z"}, 422,
             'PodLogOptions "box" is invalid: Forbidden: '
             "at most one of `sinceTime` or `sinceSeconds` may be specified"),
            ("box", {"previous": "true"}, 400,
             'previous terminated container "main" in pod "box" not found'),
            ("ghost", {}, 404, 'pods "ghost" not found'),
            ("duo", {}, 400,
             "a container name must be specified for pod duo, choose one of: [a b]"),
            ("duo", {"container": "c"}, 400, "container c is not valid for pod duo"),
        ]
        for name, params, code, message in cases:
            async with s.session.get(s.url(name, "log"), params=params) as r:
                status = await r.json()
            assert (r.status, status["code"], status["message"]) == (code, code, message), params


async def test_logs_previous_attempt_after_a_restart() -> None:
    """previous=true serves the attempt before the restart."""
    async with serving() as s:
        await talking(s, "box", "before")
        s.feed.say("box", "exit 1")
        await started(s.cluster, "box", restarts=1)
        assert (await body(s, "box", previous="true"))[2] == "attempt 0\nbefore\n"


async def test_follow_streams_new_lines_until_the_attempt_ends() -> None:
    """follow: the tail, then each line written after the request, then the end of the body."""
    async with serving() as s:
        await talking(s, "box", "old", restart="Never")
        async with s.session.get(s.url("box", "log"),
                                 params={"follow": "true", "tailLines": "1"}) as r:
            assert (r.status, r.content_type) == (200, "text/plain")
            assert r.headers.get("Transfer-Encoding") == "chunked"
            assert await asyncio.wait_for(r.content.readline(), 5) == b"old\n"
            s.feed.say("box", "new")
            assert await asyncio.wait_for(r.content.readline(), 5) == b"new\n"
            s.feed.say("box", "exit 0")
            assert await asyncio.wait_for(r.content.read(), 5) == b""
        await s.wait_finished("log")


async def test_follow_ends_when_the_client_goes_away() -> None:
    """A follow whose client disconnects stops (the handler returns) without a new line."""
    async with serving() as s:
        await talking(s, "box")
        async with s.session.get(s.url("box", "log"), params={"follow": "1"}) as r:
            assert await asyncio.wait_for(r.content.readline(), 5) == b"attempt 0\n"
            r.close()  # drop the connection while the follow waits for a line
        await s.wait_finished("log")
