"""Custom resources: a CRD registers a kind that is validated by its schema and served."""

from __future__ import annotations

import pytest

from cluster.api import errors

from tests.cluster.apiserver_helpers import MEMCACHED_CRD, make_api, memcached


def test_crd_registers_a_kind_served_like_builtins() -> None:
    """After the CRD: schema violations are refused with their field path; valid objects
    are defaulted, listed by short name, and have a status subresource."""
    api = make_api()
    crd = api.create(MEMCACHED_CRD)
    assert {c["type"] for c in crd["status"]["conditions"]} == {"NamesAccepted", "Established"}
    before = api.revision
    with pytest.raises(errors.Invalid) as info:
        api.create(memcached("bad", {"size": -1}))
    assert str(info.value).startswith('Memcached.cache.example.com "bad" is invalid: spec.size')
    assert "greater than or equal to 0" in str(info.value)
    with pytest.raises(errors.Invalid, match="spec.size: Required value"):
        api.create(memcached("bad", {}))
    with pytest.raises(errors.Invalid, match='spec.mode: Unsupported value: "turbo"'):
        api.create(memcached("bad", {"size": 1, "mode": "turbo"}))
    with pytest.raises(errors.Invalid, match="spec.size"):
        api.create(memcached("bad", {"size": "one"}))
    assert api.revision == before
    ok = api.create(memcached("memcached-sample", {"size": 1}))
    assert ok["spec"] == {"size": 1, "mode": "safe"}
    items, _ = api.list("mc")
    assert [i["metadata"]["name"] for i in items] == ["memcached-sample"]
    assert api.resolve("memcacheds").kind == "Memcached"
    with_status = {**ok, "status": {"nodes": ["memcached-sample-6c765df685-xhhjc"]}}
    assert "status" not in api.update(with_status)
    assert api.update_status(with_status)["status"]["nodes"] == ["memcached-sample-6c765df685-xhhjc"]


def test_deleting_the_crd_removes_its_objects_and_kind() -> None:
    """Without its CRD a kind is no longer served and its objects are gone."""
    api = make_api()
    api.create(MEMCACHED_CRD)
    api.create(memcached("m", {"size": 1}))
    api.delete("crd", "memcacheds.cache.example.com")
    with pytest.raises(errors.NotFound, match="the server doesn't have a resource type"):
        api.list("mc")
    assert api.store.count("memcacheds.cache.example.com") == 0


def test_crds_survive_a_restart_of_a_persistent_server(tmp_path) -> None:
    """Reloading from SQLite registers the CRDs again."""
    from cluster.apiserver import APIServer
    from cluster.store import Store

    path = str(tmp_path / "s.db")
    api = APIServer(store=Store(path=path))
    api.create(MEMCACHED_CRD)
    api.create(memcached("m", {"size": 2}))
    api.store.close()
    again = APIServer(store=Store(path=path))
    assert again.get("mc", "m")["spec"]["size"] == 2
