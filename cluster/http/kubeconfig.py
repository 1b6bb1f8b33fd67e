"""Reading a kubeconfig: where the API server is and how to prove who we are.

A kubeconfig names clusters (server URL, the CA to trust), users (credentials) and
contexts (a cluster, a user and a default namespace), and picks one context as current.
`HTTPClient.from_kubeconfig` needs only the parts a bearer-token client uses, so this
module reads the file kubectl would read and boils the chosen context down to a
`KubeConfig`. Relative file paths in it (`certificate-authority`, `tokenFile`) are
relative to the kubeconfig's own folder, as kubectl resolves them.

Every problem is a `KubeConfigError` whose message is one line naming the file and the
field at fault, so a command can print it as it is.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["KubeConfig", "KubeConfigError", "load"]


class KubeConfigError(ValueError):
    """The kubeconfig cannot be used; `str()` is one line naming the file and the field."""


@dataclass(frozen=True)
class KubeConfig:
    """The chosen context of a kubeconfig, as a bearer-token HTTPS client needs it."""

    server: str
    """The API server's base URL (`https://127.0.0.1:6443`), without a trailing slash."""
    token: str | None
    """The bearer token; None when the user entry carries none (anonymous requests)."""
    ca_pem: bytes | None
    """PEM certificates to trust for the server; None means the system's trust store."""
    insecure: bool
    """`insecure-skip-tls-verify`: do not check the server's certificate at all."""
    namespace: str
    """The context's namespace (`default` when it names none)."""
    context: str = ""
    """The context's name (for messages)."""


def load(path: Path | str, context: str | None = None) -> KubeConfig:
    """The `context` (default: `current-context`) of the kubeconfig at `path`.

    Raises `KubeConfigError` for a missing or unreadable file, YAML that is not a
    kubeconfig, an unknown context, cluster or user, a cluster without a server, and
    CA or token files that cannot be read.
    """
    path = Path(path).expanduser()
    config = _read(path)
    where = str(path)
    chosen = context or config.get("current-context") or ""
    if not isinstance(chosen, str) or not chosen:
        raise KubeConfigError(f"{where}: current-context is not set (and no context was given)")
    ctx = _entry(config, "contexts", "context", chosen, where)
    cluster_name = ctx.get("cluster")
    if not cluster_name:
        raise KubeConfigError(f'{where}: contexts[name="{chosen}"].context.cluster is not set')
    cluster = _entry(config, "clusters", "cluster", str(cluster_name), where)
    user_name = ctx.get("user")
    user = _entry(config, "users", "user", str(user_name), where) if user_name else {}
    cluster_field = f'clusters[name="{cluster_name}"].cluster'
    user_field = f'users[name="{user_name}"].user'

    server = cluster.get("server")
    if not isinstance(server, str) or not server.strip():
        raise KubeConfigError(f"{where}: {cluster_field}.server is not set")
    server = server.strip().rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise KubeConfigError(f"{where}: {cluster_field}.server {server!r} is not an "
                              f"http(s) URL")
    ca_pem = _ca(cluster, path, f"{where}: {cluster_field}")
    insecure = _flag(cluster.get("insecure-skip-tls-verify"),
                     f"{where}: {cluster_field}.insecure-skip-tls-verify")
    return KubeConfig(
        server=server,
        token=_token(user, path, f"{where}: {user_field}"),
        ca_pem=ca_pem,
        insecure=insecure,
        namespace=str(ctx.get("namespace") or "default"),
        context=chosen,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise KubeConfigError(f"{path}: no such kubeconfig file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise KubeConfigError(f"{path}: cannot read the kubeconfig: {_one_line(e)}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KubeConfigError(f"{path}: not a kubeconfig (not YAML: {_one_line(e)})") from None
    if not isinstance(loaded, dict):
        raise KubeConfigError(f"{path}: not a kubeconfig (expected a mapping with clusters, "
                              f"users and contexts)")
    return loaded


def _entry(config: dict[str, Any], section: str, field: str, name: str,
           where: str) -> dict[str, Any]:
    """`config[section][name=name][field]`, e.g. the `context` of the context `name`."""
    entries = config.get(section) or []
    if not isinstance(entries, list):
        raise KubeConfigError(f"{where}: {section} is not a list")
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(field)
            if body is None:
                return {}
            if not isinstance(body, dict):
                raise KubeConfigError(f'{where}: {section}[name="{name}"].{field} is not a '
                                      f"mapping")
            return body
    singular = section.removesuffix("s")
    raise KubeConfigError(f'{where}: {singular} "{name}" not found in {section}')


def _token(user: dict[str, Any], path: Path, field: str) -> str | None:
    token = user.get("token")
    if token:
        return str(token).strip()
    token_file = user.get("tokenFile")
    if token_file:
        file = _relative(path, str(token_file))
        try:
            return file.read_text().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise KubeConfigError(f"{field}.tokenFile: cannot read {file}: "
                                  f"{_one_line(e)}") from None
    unsupported = [key for key in _UNSUPPORTED_CREDENTIALS if user.get(key)]
    if unsupported:
        # Going on without them would send no credentials: an unexplained 401 or 403 later.
        raise KubeConfigError(f"{field}.{unsupported[0]}: only token and tokenFile "
                              "credentials are supported")
    return None


_UNSUPPORTED_CREDENTIALS = ("client-certificate", "client-certificate-data", "client-key",
                            "client-key-data", "exec", "auth-provider", "username")


def _ca(cluster: dict[str, Any], path: Path, field: str) -> bytes | None:
    data = cluster.get("certificate-authority-data")
    if data:
        try:
            pem = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise KubeConfigError(f"{field}.certificate-authority-data is not "
                                  f"valid base64") from None
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise KubeConfigError(f"{field}.certificate-authority-data holds no PEM "
                                  f"certificate")
        return pem
    file_name = cluster.get("certificate-authority")
    if file_name:
        file = _relative(path, str(file_name))
        try:
            pem = file.read_bytes()
        except OSError as e:
            raise KubeConfigError(f"{field}.certificate-authority: cannot read {file}: "
                                  f"{_one_line(e)}") from None
        if b"-----BEGIN CERTIFICATE-----" not in pem:
            raise KubeConfigError(f"{field}.certificate-authority: {file} holds no PEM "
                                  f"certificate")
        return pem
    return None


def _flag(value: Any, field: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise KubeConfigError(f"{field} must be true or false, not {value!r}")


def _relative(kubeconfig: Path, name: str) -> Path:
    file = Path(name).expanduser()
    return file if file.is_absolute() else kubeconfig.parent / file


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    return text or type(error).__name__
