"""The built-in Sentinel: Redis Sentinel's algorithm, with two of its failures fixed.

Layers, inner to outer: `settings`, `config` (sentinel.conf and its rewrite), `instances`
(records), `decisions` (pure functions), `core` and `failover` (the sans-I/O state machine:
detection and election, then the failover's steps), then the I/O shell — `links`
(outgoing connections), `clients` and `commands` (the client port), `service` (the loop
tying them together) — and the two ways to run it: `program`/`image` (the fake image, in
process) and `process`/`real` (`python -m redisha.sentinel CONF`, the real backend's
process image).
"""
