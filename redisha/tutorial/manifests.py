"""The files the tutorial creates, and the one example it describes without a file.

The four manifests are the tutorial's, verbatim (the project's one copy: tests use it
and compare it with the tutorial's files), so that `redisha tutorial` runs what a reader would type
and needs nothing outside the installed package. They are written into a scratch
directory and created with `kubectl create -f <file>`, as the reader would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TUTORIAL: dict[str, str] = {
    "pod.yaml": """\
apiVersion: v1
kind: Pod
metadata:
  name: redis
spec:
  containers:
  - name: redis
    image: redis
""",
    "server.yaml": """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: redis-sfs
spec:
  serviceName: redis-sfs
  replicas: 2
  selector:
    matchLabels:
      app: redis-sfs
  template:
    metadata:
      labels:
        app: redis-sfs
    spec:
      containers:
      - name: redis-sfs
        image: redis
        command:
          - bash
          - "-c"
          - |
            set -ex
            ordinal=`hostname | awk -F '-' '{print $NF}'`
            if [[ $ordinal -eq 0 ]]; then
              echo > /tmp/redis.conf
            else
              echo "slaveof redis-sfs-0.redis-sfs 6379" > /tmp/redis.conf
            fi
            redis-server /tmp/redis.conf
""",
    "service.yaml": """\
apiVersion: v1
kind: Service
metadata:
  name: redis-sfs
  labels:
    app: redis-sfs
spec:
  clusterIP: None
  ports:
    - port: 6379
      name: redis-sfs
  selector:
    app: redis-sfs
""",
    "cache_v1alpha1_memcached.yaml": """\
apiVersion: cache.example.com/v1alpha1
kind: Memcached
metadata:
  name: memcached-sample
spec:
  size: 1
""",
}
"""The tutorial's manifests by file name, exactly as it gives them."""

SCHEDULING_POD = "redis-with-logger"
"""The pod of the tutorial's scheduling example (it gives no manifest, only the numbers)."""


def scheduling_pod(name: str = SCHEDULING_POD, request: str = "2Gi") -> str:
    """Containers A (Redis) and B (a log collector) asking for `request` of memory each.

    The tutorial gives no image for B; `pause` (built into every runtime) stands in for it,
    since only its memory request matters to the scheduler.
    """
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
  - name: redis
    image: redis
    resources:
      requests:
        memory: {request}
  - name: log-collector
    image: pause
    resources:
      requests:
        memory: {request}
"""


def as_yaml(obj: dict[str, Any]) -> str:
    """An object as a manifest file, keys in the order they were built."""
    return yaml.safe_dump(obj, sort_keys=False)


def write(directory: Path, name: str, text: str) -> Path:
    """Put one manifest where `kubectl create -f <name>` will find it."""
    path = directory / name
    path.write_text(text)
    return path
