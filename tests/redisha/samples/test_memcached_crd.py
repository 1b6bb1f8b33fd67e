"""The Memcached CRD through kubectl: it applies, serves the tutorial's sample, validates size."""

from __future__ import annotations

from pathlib import Path

import yaml

from cluster.apiserver import APIServer
from cluster.client import InProcessClient
from cluster.kubectl import Kubectl
from redisha.samples.memcached import crd
from tests.tutorial_manifests import TUTORIAL_MANIFESTS

SAMPLE = TUTORIAL_MANIFESTS["cache_v1alpha1_memcached.yaml"]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


async def test_apply_crd_then_the_tutorials_sample(tmp_path: Path) -> None:
    """`kubectl apply -f` of the CRD's YAML, then of the sample CR, as the tutorial does."""
    client = InProcessClient(APIServer())
    kubectl = Kubectl(client)
    crd_file = write(tmp_path, "crd.yaml", yaml.safe_dump(crd.crd()))
    result = await kubectl.run(["apply", "-f", crd_file])
    assert (result.exit_code, result.stdout) == (
        0, "customresourcedefinition.apiextensions.k8s.io/memcacheds.cache.example.com created\n")
    result = await kubectl.run(["apply", "-f", write(tmp_path, "sample.yaml", SAMPLE)])
    assert (result.exit_code, result.stdout) == (
        0, "memcached.cache.example.com/memcached-sample created\n")
    stored = await client.get("memcacheds", "memcached-sample", "default")
    assert stored["spec"] == {"size": 1}
    rt = await client.resolve("memcacheds.cache.example.com")
    assert (rt.group, rt.version, rt.kind, rt.namespaced) == (
        "cache.example.com", "v1alpha1", "Memcached", True)
    # The status subresource: a plain update ignores status, update_status writes it.
    stored["status"] = {"nodes": ["a"]}
    assert "status" not in await client.update(stored)
    assert (await client.update_status(stored))["status"] == {"nodes": ["a"]}
    result = await kubectl.run(["apply", "-f", crd_file])
    assert result.stdout.endswith("memcacheds.cache.example.com unchanged\n")


async def test_negative_size_is_invalid_and_stores_nothing(tmp_path: Path) -> None:
    """`size: -1` is refused with kube-apiserver's Invalid wording; nothing is written."""
    api = APIServer()
    client = InProcessClient(api)
    await crd.install(client)
    before = api.revision
    write(tmp_path, "bad.yaml", SAMPLE.replace("size: 1", "size: -1"))
    result = await Kubectl(client, cwd=tmp_path).run(["apply", "-f", "bad.yaml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'Error from server (Invalid): error when creating "bad.yaml": Memcached.cache.example.com '
        '"memcached-sample" is invalid: spec.size: Invalid value: -1: spec.size in body should '
        "be greater than or equal to 0\n")
    assert api.revision == before
    assert (await client.list("memcacheds", "default")).items == []


async def test_install_is_idempotent() -> None:
    """Installing the CRD twice keeps the first one (no error, no new revision)."""
    api = APIServer()
    client = InProcessClient(api)
    first = await crd.install(client)
    revision = api.revision
    again = await crd.install(client)
    assert again["metadata"]["uid"] == first["metadata"]["uid"]
    assert api.revision == revision
