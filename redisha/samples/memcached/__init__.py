"""The operator-sdk Memcached sample, in Python: its CRD, its operator and a `memcached` image.

- `crd`: the `memcacheds.cache.example.com` CustomResourceDefinition and the sample object;
- `controller`: `MemcachedReconciler`, which keeps a Deployment of `spec.size` memcached pods
  and lists their names in `status.nodes`;
- `cache`, `protocol`, `server`, `options`: an in-memory memcached speaking the text
  protocol, usable inside the fake runtime (`image.memcached_image()`) or as a real process
  (`python -m redisha.samples.memcached -l ADDR -p PORT`).
"""
