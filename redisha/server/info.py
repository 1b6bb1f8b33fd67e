"""INFO: sections and field names as Redis 7.0 prints them (pure rendering).

`render(sections, facts)` takes a `Facts` record the server fills in, so what INFO says is
decided here and nowhere else. Sections: server, clients, memory, persistence, stats,
replication, cpu, modules, errorstats, cluster, keyspace; `INFO` alone prints the default
ones, `INFO all`/`everything` every one, `INFO a b` those named (case-insensitive).
"""

from __future__ import annotations

import platform
import resource
from dataclasses import dataclass, field

from redisha.server.config import REDIS_VERSION

DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "modules", "errorstats", "cluster", "keyspace")


@dataclass(frozen=True)
class KeyspaceEntry:
    db: int
    keys: int
    expires: int
    avg_ttl: int = 0
    """Mean time to live of the keys with one, in milliseconds (Redis samples it)."""


@dataclass(frozen=True)
class Facts:
    """What the server knows at the moment INFO is asked."""

    now: float
    started_at: float
    pid: int
    run_id: str
    port: int
    config_file: str
    connected_clients: int
    blocked_clients: int
    maxclients: int
    used_memory: int
    total_connections: int
    total_commands: int
    rejected_connections: int
    changes_since_save: int
    last_save: int
    saves: int
    aof_enabled: bool
    replication: list[str]
    keyspace: list[KeyspaceEntry] = field(default_factory=list)
    replicas: int = 0
    pubsub_channels: int = 0
    pubsub_patterns: int = 0
    hz: int = 10
    sync_full: int = 0
    sync_partial_ok: int = 0
    sync_partial_err: int = 0
    last_load_keys_loaded: int = 0
    last_load_keys_expired: int = 0


def wanted_sections(args: list[str]) -> tuple[str, ...]:
    if not args:
        return DEFAULT_SECTIONS
    names = [a.lower() for a in args]
    if "all" in names or "everything" in names:
        return DEFAULT_SECTIONS
    if "default" in names:
        return DEFAULT_SECTIONS
    return tuple(n for n in DEFAULT_SECTIONS if n in names)


def render(sections: tuple[str, ...], facts: Facts) -> str:
    blocks = []
    for name in sections:
        lines = _SECTIONS[name](facts)
        title = "Errorstats" if name == "errorstats" else name.capitalize()
        blocks.append("\r\n".join([f"# {title}", *lines]) + "\r\n")
    return "\r\n".join(blocks)


def _server(f: Facts) -> list[str]:
    uptime = max(0, int(f.now - f.started_at))
    uname = platform.uname()
    return [
        f"redis_version:{REDIS_VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        "redis_mode:standalone",
        f"os:{uname.system} {uname.release} {uname.machine}",
        "arch_bits:64",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        "gcc_version:12.2.0",
        f"process_id:{f.pid}",
        "process_supervised:no",
        f"run_id:{f.run_id}",
        f"tcp_port:{f.port}",
        f"server_time_usec:{int(f.now * 1_000_000)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{f.hz}",
        f"configured_hz:{f.hz}",
        f"lru_clock:{int(f.now) & ((1 << 24) - 1)}",
        "executable:/usr/local/bin/redis-server",
        f"config_file:{f.config_file}",
        "io_threads_active:0",
    ]


def _clients(f: Facts) -> list[str]:
    return [
        f"connected_clients:{f.connected_clients}",
        "cluster_connections:0",
        f"maxclients:{f.maxclients}",
        "client_recent_max_input_buffer:20480",
        "client_recent_max_output_buffer:0",
        f"blocked_clients:{f.blocked_clients}",
        "tracking_clients:0",
        "clients_in_timeout_table:0",
    ]


def _human(size: int) -> str:
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.2f}{unit}"
    return f"{size}B"


def _memory(f: Facts) -> list[str]:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return [
        f"used_memory:{f.used_memory}",
        f"used_memory_human:{_human(f.used_memory)}",
        f"used_memory_rss:{rss}",
        f"used_memory_rss_human:{_human(rss)}",
        f"used_memory_peak:{f.used_memory}",
        f"used_memory_peak_human:{_human(f.used_memory)}",
        "maxmemory:0",
        "maxmemory_human:0B",
        "maxmemory_policy:noeviction",
        "mem_allocator:jemalloc-5.3.0",
    ]


def _persistence(f: Facts) -> list[str]:
    return [
        "loading:0",
        "async_loading:0",
        "current_cow_peak:0",
        "current_cow_size:0",
        "current_cow_size_age:0",
        "current_fork_perc:0.00",
        "current_save_keys_processed:0",
        "current_save_keys_total:0",
        f"rdb_changes_since_last_save:{f.changes_since_save}",
        "rdb_bgsave_in_progress:0",
        f"rdb_last_save_time:{f.last_save}",
        "rdb_last_bgsave_status:ok",
        "rdb_last_bgsave_time_sec:0" if f.saves else "rdb_last_bgsave_time_sec:-1",
        "rdb_current_bgsave_time_sec:-1",
        f"rdb_saves:{f.saves}",
        "rdb_last_cow_size:0",
        f"rdb_last_load_keys_expired:{f.last_load_keys_expired}",
        f"rdb_last_load_keys_loaded:{f.last_load_keys_loaded}",
        f"aof_enabled:{int(f.aof_enabled)}",
        "aof_rewrite_in_progress:0",
        "aof_rewrite_scheduled:0",
        "aof_last_rewrite_time_sec:-1",
        "aof_current_rewrite_time_sec:-1",
        "aof_last_bgrewrite_status:ok",
        "aof_rewrites:0",
        "aof_rewrites_consecutive_failures:0",
        "aof_last_write_status:ok",
        "aof_last_cow_size:0",
        "module_fork_in_progress:0",
        "module_fork_last_cow_size:0",
    ]


def _stats(f: Facts) -> list[str]:
    zeros = ("migrate_cached_sockets", "slave_expires_tracked_keys", "active_defrag_hits",
             "active_defrag_misses", "active_defrag_key_hits", "active_defrag_key_misses",
             "total_active_defrag_time", "current_active_defrag_time", "tracking_total_keys",
             "tracking_total_items", "tracking_total_prefixes", "unexpected_error_replies",
             "total_error_replies", "dump_payload_sanitizations", "total_reads_processed",
             "total_writes_processed", "io_threaded_reads_processed",
             "io_threaded_writes_processed", "reply_buffer_shrinks", "reply_buffer_expands")
    return [
        f"total_connections_received:{f.total_connections}",
        f"total_commands_processed:{f.total_commands}",
        "instantaneous_ops_per_sec:0",
        "total_net_input_bytes:0",
        "total_net_output_bytes:0",
        "total_net_repl_input_bytes:0",
        "total_net_repl_output_bytes:0",
        "instantaneous_input_kbps:0.00",
        "instantaneous_output_kbps:0.00",
        "instantaneous_input_repl_kbps:0.00",
        "instantaneous_output_repl_kbps:0.00",
        f"rejected_connections:{f.rejected_connections}",
        f"sync_full:{f.sync_full}",
        f"sync_partial_ok:{f.sync_partial_ok}",
        f"sync_partial_err:{f.sync_partial_err}",
        "expired_keys:0",
        "expired_stale_perc:0.00",
        "expired_time_cap_reached_count:0",
        "expire_cycle_cpu_milliseconds:0",
        "evicted_keys:0",
        "evicted_clients:0",
        "total_eviction_exceeded_time:0",
        "current_eviction_exceeded_time:0",
        "keyspace_hits:0",
        "keyspace_misses:0",
        f"pubsub_channels:{f.pubsub_channels}",
        f"pubsub_patterns:{f.pubsub_patterns}",
        "pubsubshard_channels:0",
        "latest_fork_usec:0",
        f"total_forks:{f.saves + f.sync_full}",
        *(f"{name}:0" for name in zeros),
    ]


def _replication(f: Facts) -> list[str]:
    return list(f.replication)


def _cpu(f: Facts) -> list[str]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return [f"used_cpu_sys:{usage.ru_stime:.6f}", f"used_cpu_user:{usage.ru_utime:.6f}",
            "used_cpu_sys_children:0.000000", "used_cpu_user_children:0.000000"]


def _empty(f: Facts) -> list[str]:
    return []


def _cluster(f: Facts) -> list[str]:
    return ["cluster_enabled:0"]


def _keyspace(f: Facts) -> list[str]:
    return [f"db{e.db}:keys={e.keys},expires={e.expires},avg_ttl={e.avg_ttl}"
            for e in f.keyspace]


_SECTIONS = {
    "server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
    "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": _empty,
    "errorstats": _empty, "cluster": _cluster, "keyspace": _keyspace,
}
