"""Builders for the checker's and the report's unit tests: writes, sentinel events and
topologies as a trial would record them. A module with its own name, so tests import it
unambiguously."""

from __future__ import annotations

from redisha.scenario.checker import RedisView, SentinelView, Topology, TrialRecords
from redisha.scenario.timeline import SentinelEvent
from redisha.scenario.writer import Write

A, B, C = "10.0.0.1", "10.0.0.2", "10.0.0.3"
SERVER = {A: f"{A}:6379#aaaa", B: f"{B}:6379#bbbb", C: f"{C}:6379#cccc"}


def write(at: float, ip: str | None, *, seq: int | None = None, accepted: bool = True,
          acked: bool | None = None, writer: str = "main", error: str = "") -> Write:
    """A write finishing at `at` answered by the server at `ip` (None: no server)."""
    key = f"{writer[0]}:{seq if seq is not None else int(at * 1000)}"
    return Write(writer, key, key, at - 0.0005, at, accepted,
                 accepted if acked is None else acked, SERVER[ip] if ip else "", error)


def refused(at: float, ip: str, error: str = "READONLY You can't write against a read only "
            "replica.") -> Write:
    return write(at, ip, accepted=False, error=f"server: {error}")


def failed(at: float) -> Write:
    return write(at, None, accepted=False, error="ConnectionError: Connection reset")


def switch(at: float, old: str, new: str, sentinel: str = "s1") -> SentinelEvent:
    return SentinelEvent(at, sentinel, "+switch-master", f"mymaster {old} 6379 {new} 6379")


def event(at: float, kind: str, text: str = f"master mymaster {A} 6379") -> SentinelEvent:
    return SentinelEvent(at, "s1", kind, text)


def whole(primary: str = B, replicas: tuple[str, ...] = (A, C)) -> Topology:
    """One primary at `primary`, the others following it, Service and sentinels agreeing."""
    redis = [RedisView(f"rfr-{primary}", primary, "master")]
    redis += [RedisView(f"rfr-{ip}", ip, "slave", primary, True) for ip in replicas]
    sentinels = tuple(SentinelView(f"rfs-{i}", f"10.0.1.{i}", primary) for i in range(3))
    return Topology(redis=tuple(redis), endpoints=(primary,), sentinels=sentinels)


def records(writes: list[Write], *, events: tuple[SentinelEvent, ...] = (),
            fault_at: float = 10.0, recovered_at: float | None = 11.0,
            topology: Topology | None = None,
            present: dict[str, str | None] | None = None) -> TrialRecords:
    """A trial's records; by default every acknowledged key reads back intact."""
    if present is None:
        present = {w.key: w.value for w in writes if w.acked}
    return TrialRecords(writes=tuple(writes), events=events, fault_at=fault_at,
                        initial_primary=A, initial_server=SERVER[A],
                        recovered_at=recovered_at, topology=topology or whole(),
                        present=present)


def steady_failover() -> list[Write]:
    """A healthy failover: A takes writes until 10.0, nothing for 300 ms, then B."""
    writes = [write(9.0 + i * 0.1, A, seq=i) for i in range(10)]
    writes += [failed(10.1), failed(10.2)]
    writes += [write(10.3 + i * 0.1, B, seq=100 + i) for i in range(10)]
    return writes
