"""The fake `redis` image: fakeredis as the data plane, with RESP over the pod's network,
replication as Redis 7 does it, and redis-server's log lines. See `image.redis_image`."""
