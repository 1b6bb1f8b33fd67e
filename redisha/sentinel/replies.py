"""What the sentinel answers about its state, field by field as Redis 7.0 Sentinel does.

`instance_fields` is `addReplySentinelRedisInstance` (SENTINEL MASTER, MASTERS, REPLICAS,
SENTINELS: a map in RESP3, a flat array in RESP2, every value a bulk string as Redis sends
it); `sentinel_info` is INFO's sections in sentinel mode. Pure rendering.
"""

from __future__ import annotations

import platform
import resource
from dataclasses import dataclass

from redisha.sentinel.instances import Instance, Master, Peer, Redis, Replica, flags_of
from redisha.server.config import REDIS_VERSION

SECTIONS = ("server", "clients", "stats", "cpu", "sentinel")
"""INFO's sections in sentinel mode (the default and `all`), in Redis' order."""

HEADERS = {"server": "Server", "clients": "Clients", "stats": "Stats", "cpu": "CPU",
           "sentinel": "Sentinel"}
"""Each section's `# ...` title as Redis spells it (`# CPU`, not `# Cpu`)."""


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def instance_fields(record: Instance, now: float) -> dict[bytes, bytes]:
    """One instance as SENTINEL MASTER/REPLICAS/SENTINELS show it."""
    link = record.link
    fields: dict[str, object] = {
        "name": record.name if isinstance(record, (Master, Replica, Peer)) else "",
        "ip": record.address.host,
        "port": record.address.port,
        "runid": record.runid,
        "flags": flags_of(record),
        "link-pending-commands": link.pending,
        "link-refcount": 1,
    }
    if isinstance(record, Master) and record.in_failover:
        fields["failover-state"] = record.failover_state.value
    fields["last-ping-sent"] = _ms(now - link.act_ping_time) if link.act_ping_time else 0
    fields["last-ok-ping-reply"] = _ms(now - link.last_avail_time)
    fields["last-ping-reply"] = _ms(now - link.last_pong_time)
    if record.s_down:
        fields["s-down-time"] = _ms(now - record.s_down_since)
    if isinstance(record, Master) and record.o_down:
        fields["o-down-time"] = _ms(now - record.o_down_since)
    fields["down-after-milliseconds"] = record.down_after_ms
    if isinstance(record, Redis):
        fields["info-refresh"] = _ms(now - record.info_refresh) if record.info_refresh else 0
        fields["role-reported"] = record.role_reported.value
        fields["role-reported-time"] = _ms(now - record.role_reported_time)
    if isinstance(record, Master):
        fields["config-epoch"] = record.config_epoch
        fields["num-slaves"] = len(record.replicas)
        fields["num-other-sentinels"] = len(record.sentinels)
        fields["quorum"] = record.quorum
        fields["failover-timeout"] = record.failover_timeout_ms
        fields["parallel-syncs"] = record.parallel_syncs
    if isinstance(record, Replica):
        fields["master-link-down-time"] = record.master_link_down_time_ms
        fields["master-link-status"] = "ok" if record.master_link_up else "err"
        fields["master-host"] = record.master_host or "?"
        fields["master-port"] = record.master_port
        fields["slave-priority"] = record.priority
        fields["slave-repl-offset"] = record.repl_offset
        fields["replica-announced"] = int(record.announced)
    if isinstance(record, Peer):
        fields["last-hello-message"] = _ms(now - record.last_hello_time)
        fields["voted-leader"] = record.leader or "?"
        fields["voted-leader-epoch"] = record.leader_epoch
    return {key.encode(): str(value).encode() for key, value in fields.items()}


def listed(records: list[Replica] | list[Peer] | list[Master], now: float
           ) -> list[dict[bytes, bytes]]:
    """SENTINEL MASTERS/REPLICAS/SENTINELS (replicas that are not announced are left out)."""
    return [instance_fields(r, now) for r in records
            if not (isinstance(r, Replica) and not r.announced)]


@dataclass(frozen=True)
class ServerFacts:
    """What INFO's non-sentinel sections say."""

    now: float
    started_at: float
    pid: int
    run_id: str
    port: int
    config_file: str
    executable: str
    connected_clients: int
    total_connections: int
    total_commands: int
    pubsub_channels: int
    pubsub_patterns: int
    total_error_replies: int = 0


def sentinel_section(masters: list[Master]) -> list[str]:
    lines = [f"sentinel_masters:{len(masters)}", "sentinel_tilt:0",
             "sentinel_tilt_since_seconds:-1", "sentinel_running_scripts:0",
             "sentinel_scripts_queue_length:0", "sentinel_simulate_failure_flags:0"]
    for index, master in enumerate(masters):
        status = "odown" if master.o_down else "sdown" if master.s_down else "ok"
        lines.append(f"master{index}:name={master.name},status={status},"
                     f"address={master.address.host}:{master.address.port},"
                     f"slaves={len(master.replicas)},sentinels={len(master.sentinels) + 1}")
    return lines


def _server(f: ServerFacts) -> list[str]:
    uptime = max(0, int(f.now - f.started_at))
    uname = platform.uname()
    return [f"redis_version:{REDIS_VERSION}", "redis_git_sha1:00000000", "redis_git_dirty:0",
            "redis_build_id:0", "redis_mode:sentinel",
            f"os:{uname.system} {uname.release} {uname.machine}", "arch_bits:64",
            "monotonic_clock:POSIX clock_gettime", "multiplexing_api:epoll",
            "atomicvar_api:c11-builtin", "gcc_version:12.2.0", f"process_id:{f.pid}",
            "process_supervised:no", f"run_id:{f.run_id}", f"tcp_port:{f.port}",
            f"server_time_usec:{int(f.now * 1_000_000)}", f"uptime_in_seconds:{uptime}",
            f"uptime_in_days:{uptime // 86400}", "hz:10", "configured_hz:10",
            f"lru_clock:{int(f.now) & ((1 << 24) - 1)}", f"executable:{f.executable}",
            f"config_file:{f.config_file}", "io_threads_active:0"]


def _clients(f: ServerFacts) -> list[str]:
    return [f"connected_clients:{f.connected_clients}", "cluster_connections:0",
            "maxclients:10000", "client_recent_max_input_buffer:20480",
            "client_recent_max_output_buffer:0", "blocked_clients:0", "tracking_clients:0",
            "clients_in_timeout_table:0"]


def _cpu(f: ServerFacts) -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return [f"used_cpu_sys:{usage.ru_stime:.6f}", f"used_cpu_user:{usage.ru_utime:.6f}",
            "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000",
            f"used_cpu_sys_main_thread:{usage.ru_stime:.6f}",
            f"used_cpu_user_main_thread:{usage.ru_utime:.6f}"]


def _stats(f: ServerFacts) -> list[str]:
    """Redis 7.0's stats fields in its order; a sentinel keeps no keys, forks nothing and
    serves no replicas, so those counters stay 0."""
    return [f"total_connections_received:{f.total_connections}",
            f"total_commands_processed:{f.total_commands}", "instantaneous_ops_per_sec:0",
            "total_net_input_bytes:0", "total_net_output_bytes:0",
            "total_net_repl_input_bytes:0", "total_net_repl_output_bytes:0",
            "instantaneous_input_kbps:0.00", "instantaneous_output_kbps:0.00",
            "instantaneous_input_repl_kbps:0.00", "instantaneous_output_repl_kbps:0.00",
            "rejected_connections:0", "sync_full:0", "sync_partial_ok:0",
            "sync_partial_err:0", "expired_keys:0", "expired_stale_perc:0.00",
            "expired_time_cap_reached_count:0", "expire_cycle_cpu_milliseconds:0",
            "evicted_keys:0", "evicted_clients:0", "total_eviction_exceeded_time:0",
            "current_eviction_exceeded_time:0", "keyspace_hits:0", "keyspace_misses:0",
            f"pubsub_channels:{f.pubsub_channels}", f"pubsub_patterns:{f.pubsub_patterns}",
            "pubsubshard_channels:0", "latest_fork_usec:0", "total_forks:0",
            "migrate_cached_sockets:0", "slave_expires_tracked_keys:0",
            "active_defrag_hits:0", "active_defrag_misses:0", "active_defrag_key_hits:0",
            "active_defrag_key_misses:0", "total_active_defrag_time:0",
            "current_active_defrag_time:0", "tracking_total_keys:0",
            "tracking_total_items:0", "tracking_total_prefixes:0",
            "unexpected_error_replies:0", f"total_error_replies:{f.total_error_replies}",
            "dump_payload_sanitizations:0", f"total_reads_processed:{f.total_commands}",
            f"total_writes_processed:{f.total_commands}", "io_threaded_reads_processed:0",
            "io_threaded_writes_processed:0", "reply_buffer_shrinks:0",
            "reply_buffer_expands:0"]


def wanted_sections(args: list[str]) -> tuple[str, ...]:
    """INFO's arguments → sections: none, `default`, `all`, `everything` give them all."""
    names = {a.lower() for a in args}
    if not names or names & {"all", "everything", "default"}:
        return SECTIONS
    return tuple(s for s in SECTIONS if s in names)


def info_text(sections: tuple[str, ...], facts: ServerFacts, masters: list[Master]) -> str:
    render = {"server": lambda: _server(facts), "clients": lambda: _clients(facts),
              "cpu": lambda: _cpu(facts), "stats": lambda: _stats(facts),
              "sentinel": lambda: sentinel_section(masters)}
    blocks = []
    for name in sections:
        blocks.append("\r\n".join([f"# {HEADERS[name]}", *render[name]()]) + "\r\n")
    return "\r\n".join(blocks)
