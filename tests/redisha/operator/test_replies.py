"""Reading what redis servers and sentinels answer: INFO, SENTINEL MASTER, events."""

from __future__ import annotations

from redisha.operator.nodes import NodeInfo, Role, parse_info, promoted_info
from redisha.operator.sentinels import Address, MasterState, parse_event

PRIMARY_INFO = """# Replication\r
role:master\r
connected_slaves:2\r
min_slaves_good_slaves:2\r
slave0:ip=127.10.0.6,port=6379,state=online,offset=3003,lag=0\r
slave1:ip=127.10.0.7,port=6379,state=online,offset=2990,lag=1\r
master_failover_state:no-failover\r
master_replid:8c5f0c8bb2a3e1e2a2c5b7e2f6a1d3c4b5a6e7f8\r
master_replid2:0000000000000000000000000000000000000000\r
master_repl_offset:3003\r
"""

REPLICA_INFO = """# Replication\r
role:slave\r
master_host:127.0.0.1\r
master_port:1\r
master_link_status:down\r
slave_repl_offset:1200\r
master_repl_offset:1200\r
"""

KEYSPACE = "# Keyspace\r\ndb0:keys=7,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=1,avg_ttl=5\r\n"


def test_info_of_a_primary_and_of_a_waiting_replica() -> None:
    """Role, offsets, attached replicas, keys over all databases, the NOWHERE primary."""
    primary = parse_info(PRIMARY_INFO, KEYSPACE)
    assert (primary.role, primary.offset, primary.keys) == (Role.MASTER, 3003, 9)
    assert [(r.ip, r.offset, r.lag) for r in primary.attached] == \
        [("127.10.0.6", 3003, 0), ("127.10.0.7", 2990, 1)]
    waiting = parse_info(REPLICA_INFO)
    assert (waiting.role, waiting.primary, waiting.link_up, waiting.waiting) == \
        (Role.REPLICA, Address("127.0.0.1", 1), False, True)
    assert waiting.has_data


def test_sentinel_master_fields() -> None:
    """SENTINEL MASTER's flat reply: address, flags, epoch, settings, failover state."""
    fields = {"name": "mymaster", "ip": "127.10.0.5", "port": "6379",
              "flags": "master,failover_in_progress", "config-epoch": "4",
              "num-slaves": "2", "num-other-sentinels": "2", "quorum": "2",
              "down-after-milliseconds": "1000", "failover-timeout": "2000",
              "parallel-syncs": "1"}
    state = MasterState.from_fields(fields)
    assert (state.address, state.config_epoch, state.failover_in_progress) == \
        (Address("127.10.0.5", 6379), 4, True)
    assert state.options() == {"down-after-milliseconds": "1000", "failover-timeout": "2000",
                               "parallel-syncs": "1", "quorum": "2"}


def test_sentinel_event_formats() -> None:
    """`+switch-master` names old and new; master and replica events name their instance."""
    switch = parse_event("+switch-master", "mymaster 127.10.0.5 6379 127.10.0.6 6379")
    assert (switch.previous, switch.address) == (Address("127.10.0.5", 6379),
                                                 Address("127.10.0.6", 6379))
    odown = parse_event("+odown", "master mymaster 127.10.0.5 6379 #quorum 2/2")
    assert (odown.instance_type, odown.address, odown.extra) == \
        ("master", Address("127.10.0.5", 6379), ("#quorum", "2/2"))
    promoted = parse_event("+promoted-slave",
                           "slave 127.10.0.6:6379 127.10.0.6 6379 @ mymaster 127.10.0.5 6379")
    assert (promoted.address, promoted.master) == (Address("127.10.0.6", 6379),
                                                   Address("127.10.0.5", 6379))


def test_a_promoted_replica_is_taken_for_a_primary_with_the_offset_it_reached() -> None:
    """What the fast path assumes of a replica the sentinels announced as promoted: a
    primary, its data and settings kept, its replication offset now its own."""
    last = NodeInfo(role=Role.REPLICA, offset=90, keys=7, primary=Address("127.1.0.1", 6379),
                    link_up=True, replica_offset=120, config={"min-replicas-to-write": "1"})
    now = promoted_info(last)
    assert (now.is_master, now.offset, now.keys, now.primary, now.link_up) == (
        True, 120, 7, None, False)
    assert now.config == {"min-replicas-to-write": "1"}
    assert promoted_info(None).is_master
