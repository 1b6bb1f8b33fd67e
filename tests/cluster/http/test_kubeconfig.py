"""Reading kubeconfigs: the chosen context's server, CA, token and namespace, or one line."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.http import kubeconfig

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def config(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Config", "current-context": "redisha",
        "clusters": [
            {"name": "redisha", "cluster": {
                "server": "https://127.0.0.1:6443/",
                "certificate-authority-data": base64.b64encode(PEM).decode()}},
            {"name": "other", "cluster": {"server": "http://127.0.0.1:8080",
                                          "insecure-skip-tls-verify": True,
                                          "certificate-authority": "ca.pem"}}],
        "users": [{"name": "redisha", "user": {"token": "s3cret"}},
                  {"name": "filed", "user": {"tokenFile": "token.txt"}}],
        "contexts": [
            {"name": "redisha", "context": {"cluster": "redisha", "user": "redisha"}},
            {"name": "other", "context": {"cluster": "other", "user": "filed",
                                          "namespace": "prod"}},
            {"name": "anonymous", "context": {"cluster": "redisha"}}],
    }
    base.update(overrides)
    return base


def write(tmp_path: Path, body: Any) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return path


def test_current_context(tmp_path: Path) -> None:
    """The current context gives server (no trailing slash), CA, token, default namespace."""
    loaded = kubeconfig.load(write(tmp_path, config()))
    assert loaded == kubeconfig.KubeConfig(server="https://127.0.0.1:6443", token="s3cret",
                                           ca_pem=PEM, insecure=False, namespace="default",
                                           context="redisha")


def test_named_context_with_files(tmp_path: Path) -> None:
    """A named context reads its CA and token files relative to the kubeconfig's folder."""
    (tmp_path / "ca.pem").write_bytes(PEM)
    (tmp_path / "token.txt").write_text("from-file\n")
    loaded = kubeconfig.load(write(tmp_path, config()), context="other")
    assert (loaded.server, loaded.token, loaded.ca_pem, loaded.insecure, loaded.namespace) == (
        "http://127.0.0.1:8080", "from-file", PEM, True, "prod")


def test_context_without_user(tmp_path: Path) -> None:
    """A context naming no user gives no token."""
    assert kubeconfig.load(write(tmp_path, config()), "anonymous").token is None


@pytest.mark.parametrize("body,context,words", [
    pytest.param(None, None, "no such kubeconfig file", id="missing-file"),
    pytest.param("clusters: [", None, "not YAML", id="not-yaml"),
    pytest.param("- a\n- b\n", None, "not a kubeconfig", id="not-a-mapping"),
    pytest.param(config(**{"current-context": ""}), None, "current-context is not set",
                 id="no-current-context"),
    pytest.param(config(), "nope", 'context "nope" not found in contexts', id="unknown-context"),
    pytest.param(config(contexts=[{"name": "redisha", "context": {"cluster": "gone"}}]), None,
                 'cluster "gone" not found in clusters', id="unknown-cluster"),
    pytest.param(config(contexts=[{"name": "redisha", "context": {"user": "redisha"}}]), None,
                 'contexts[name="redisha"].context.cluster is not set', id="context-no-cluster"),
    pytest.param(config(contexts=[{"name": "redisha", "context": {"cluster": "redisha",
                                                                  "user": "ghost"}}]), None,
                 'user "ghost" not found in users', id="unknown-user"),
    pytest.param(config(clusters=[{"name": "redisha", "cluster": {}}]), None,
                 'clusters[name="redisha"].cluster.server is not set', id="no-server"),
    pytest.param(config(clusters=[{"name": "redisha", "cluster": {"server": "127.0.0.1"}}]),
                 None, "is not an http(s) URL", id="bad-server"),
    pytest.param(config(clusters=[{"name": "redisha", "cluster": {
        "server": "https://x", "certificate-authority-data": "!!!"}}]), None,
        "certificate-authority-data is not valid base64", id="bad-ca-data"),
    pytest.param(config(), "other", "certificate-authority: cannot read", id="missing-ca-file"),
    pytest.param(config(clusters=[{"name": "redisha", "cluster": {
        "server": "https://x", "insecure-skip-tls-verify": "yes"}}]), None,
        "insecure-skip-tls-verify must be true or false", id="bad-flag"),
])
def test_errors_name_file_and_field(tmp_path: Path, body: Any, context: str | None,
                                    words: str) -> None:
    """Each unusable kubeconfig fails with one line naming the file and what is wrong."""
    path = tmp_path / "kubeconfig" if body is None else write(tmp_path, body)
    with pytest.raises(kubeconfig.KubeConfigError) as caught:
        kubeconfig.load(path, context)
    message = str(caught.value)
    assert message.startswith(str(path) + ": ") and words in message and "\n" not in message


def test_unreadable_token_file(tmp_path: Path) -> None:
    """A tokenFile that cannot be read names the user's field and the file."""
    (tmp_path / "ca.pem").write_bytes(PEM)
    with pytest.raises(kubeconfig.KubeConfigError,
                       match=r'users\[name="filed"\]\.user\.tokenFile: cannot read .*token\.txt'):
        kubeconfig.load(write(tmp_path, config()), "other")


@pytest.mark.parametrize("user,field", [
    pytest.param({"client-certificate-data": "eA==", "client-key-data": "eA=="},
                 "client-certificate-data", id="client-cert"),
    pytest.param({"exec": {"command": "aws"}}, "exec", id="exec"),
])
def test_credentials_other_than_a_token_are_refused_in_one_line(
        tmp_path: Path, user: dict[str, Any], field: str) -> None:
    """A kind or minikube user (client certificates, exec plugins) would go anonymous and
    fail later with an unexplained 401: refused now, naming the field."""
    body = config(users=[{"name": "redisha", "user": user}])
    with pytest.raises(kubeconfig.KubeConfigError) as raised:
        kubeconfig.load(write(tmp_path, body))
    message = str(raised.value)
    assert f".{field}: only token and tokenFile credentials are supported" in message
    assert "\n" not in message
