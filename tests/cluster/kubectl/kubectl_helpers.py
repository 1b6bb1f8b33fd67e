"""Builders for the kubectl tests: a live embedded API server with a `Kubectl` on top."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubectl.commands import CommandResult, Kubectl

T0 = 1_700_000_000.0
"""2023-11-14T22:13:20Z: every object in these tests is created at or after this moment."""

SHARED_MANIFESTS = Path("/work/shared/tutorial/manifests")
"""Where the tutorial's files live on a development machine."""

TUTORIAL_MANIFESTS: dict[str, str] = {
    'cache_v1alpha1_memcached.yaml': '''\
apiVersion: cache.example.com/v1alpha1
kind: Memcached
metadata:
  name: memcached-sample
spec:
  size: 1
''',
    'pod.yaml': '''\
apiVersion: v1
kind: Pod
metadata:
  name: redis
spec:
  containers:
  - name: redis
    image: redis
''',
    'server.yaml': '''\
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
''',
    'service.yaml': '''\
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
''',
}
"""The tutorial's manifests, verbatim (test_tutorial_manifests_match checks the copy)."""


class Clock:
    """Seconds since the epoch; `advance` is the only way time passes."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """One cluster: the API server, a client, kubectl, the clock and a manifests folder."""

    api: APIServer
    client: InProcessClient
    kubectl: Kubectl
    clock: Clock
    files: Path

    async def run(self, *argv: str) -> CommandResult:
        return await self.kubectl.run(list(argv))

    def write(self, name: str, text: str) -> str:
        (self.files / name).write_text(text)
        return name

    @property
    def revision(self) -> int:
        return self.api.revision


def make_harness(files: Path) -> Harness:
    """A fresh cluster whose kubectl reads files from `files` (tutorial manifests copied in)."""
    clock = Clock()
    api = APIServer(clock=clock, rng=random.Random(7))
    client = InProcessClient(api)
    for name, text in TUTORIAL_MANIFESTS.items():
        (files / name).write_text(text)
    return Harness(api, client, Kubectl(client, clock=clock, cwd=files), clock, files)
