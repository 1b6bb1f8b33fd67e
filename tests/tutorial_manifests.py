"""The tutorial's manifests, verbatim, so tests do not depend on files outside the checkout;
`test_commands_tutorial` checks this copy against shared/ where shared/ is present."""

from __future__ import annotations

from pathlib import Path

SHARED_MANIFESTS = Path(__file__).resolve().parents[2] / "shared" / "tutorial" / "manifests"
"""The tutorial's files, in the shared/ folder that sits beside the checkout (developers' machines
and CI both have it)."""

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
