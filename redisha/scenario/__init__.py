"""Fault scenarios: a writer, a fault injected through the engine, and a lost-write checker.

`redisha scenario NAME` boots a cluster per trial, runs a RedisFailover with its operator
and sentinels, writes through the primary Service (or redis-py's Sentinel client), injects
the fault and checks what a client cares about: one primary, nothing acknowledged lost,
one failover per fault, never two primaries accepting writes. Layers: `writer` (the
workload and its records), `timeline` (sentinel events), `checker` (pure verdicts),
`observing` (the topology seen from outside), `faults` (the scenarios), `runner`
(trials and clusters), `report` (text and JSON), `bench` (`redisha bench failover`).
"""
