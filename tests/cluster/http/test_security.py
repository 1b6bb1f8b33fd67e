"""`cluster.http.security`: credentials on disk, the kubeconfig, and the listen check."""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import os
import ssl
import stat
from pathlib import Path

import kubernetes
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from cluster.http import security
from cluster.http.security import Credentials, CredentialsError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_first_start_makes_private_files(tmp_path: Path) -> None:
    """The state directory is 0700 and the certificate, key and token files 0600."""
    state = tmp_path / "state"
    creds = security.load_or_create(state)
    assert mode(state) == 0o700
    assert sorted(p.name for p in state.iterdir()) == ["apiserver.crt", "apiserver.key", "token"]
    for name in ("apiserver.crt", "apiserver.key", "token"):
        assert mode(state / name) == 0o600, name
    assert (state / "token").read_text().strip() == creds.token
    assert len(creds.token) >= 40 and creds.token.isascii()
    assert (state / "apiserver.key").read_bytes() == creds.key_pem


def test_files_are_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    """Secrets are created 0600 (os.open's mode), not chmod-ed afterwards, whatever the umask."""
    old = os.umask(0)
    try:
        security.load_or_create(tmp_path / "state")
    finally:
        os.umask(old)
    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "state" / "token") == 0o600
    assert mode(tmp_path / "state" / "apiserver.key") == 0o600


def test_second_start_reuses_everything(tmp_path: Path) -> None:
    """A later start returns the same credentials and rewrites no file."""
    first = security.load_or_create(tmp_path)
    inodes = {p.name: p.stat().st_ino for p in tmp_path.iterdir()}
    second = security.load_or_create(tmp_path)
    assert second == first
    assert {p.name: p.stat().st_ino for p in tmp_path.iterdir()} == inodes


def test_certificate_is_a_self_signed_ca_for_the_loopback_names(tmp_path: Path) -> None:
    """The certificate is CA:true, self-signed, P-256, and names localhost, 127.0.0.1 and ::1."""
    creds = security.load_or_create(tmp_path)
    cert = x509.load_pem_x509_certificate(creds.cert_pem)
    cert.verify_directly_issued_by(cert)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}


def test_a_new_host_remakes_the_certificate_and_keeps_the_token(tmp_path: Path) -> None:
    """A host the certificate does not name gets a new certificate; the token stays."""
    first = security.load_or_create(tmp_path)
    second = security.load_or_create(tmp_path, hosts=("10.1.2.3", "0.0.0.0"))
    assert second.token == first.token
    assert second.cert_pem != first.cert_pem and second.key_pem != first.key_pem
    san = x509.load_pem_x509_certificate(second.cert_pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.1.2.3") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("0.0.0.0") not in san.get_values_for_type(x509.IPAddress)
    assert security.load_or_create(tmp_path, hosts=("10.1.2.3",)) == second


def test_a_missing_certificate_is_remade_with_its_key(tmp_path: Path) -> None:
    """A key left without its certificate (a crash between writes) is replaced by a new pair."""
    first = security.load_or_create(tmp_path)
    (tmp_path / "apiserver.crt").unlink()
    second = security.load_or_create(tmp_path)
    assert second.key_pem != first.key_pem and second.token == first.token
    assert (tmp_path / "apiserver.crt").read_bytes() == second.cert_pem


@pytest.mark.parametrize("name,garbage,expected", [
    ("apiserver.key", b"not a key\n", "apiserver.key: not an unencrypted PEM private key"),
    ("apiserver.crt", b"-----BEGIN CERTIFICATE-----\nxx\n", "apiserver.crt: not a PEM certificate"),
    ("token", b"two words\n", "token: not a bearer token"),
])
def test_a_garbled_file_is_one_line_and_changes_nothing(
        tmp_path: Path, name: str, garbage: bytes, expected: str) -> None:
    """A secret file that exists but is garbage is named in one line; nothing is rewritten."""
    security.load_or_create(tmp_path)
    (tmp_path / name).write_bytes(garbage)
    before = files_of(tmp_path)
    with pytest.raises(CredentialsError) as caught:
        security.load_or_create(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / name) in message and expected in message and "\n" not in message
    assert files_of(tmp_path) == before


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    """A key that does not match the certificate is an error naming the key file."""
    security.load_or_create(tmp_path / "a")
    security.load_or_create(tmp_path / "b")
    (tmp_path / "a" / "apiserver.key").write_bytes((tmp_path / "b" / "apiserver.key").read_bytes())
    with pytest.raises(CredentialsError, match="apiserver.key: not the key of"):
        security.load_or_create(tmp_path / "a")


def test_a_state_dir_under_a_file_is_an_os_error(tmp_path: Path) -> None:
    """A state directory that cannot be made raises OSError and writes nothing."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        security.load_or_create(tmp_path / "file" / "state")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


async def test_tls_handshake_trusts_the_certificate_as_its_authority(tmp_path: Path) -> None:
    """A verifying client trusting only the certificate reaches the server by IP and by name."""
    creds = security.load_or_create(tmp_path)
    server_context = security.server_ssl_context(creds, tmp_path)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    client_context = ssl.create_default_context(cadata=creds.cert_pem.decode())
    try:
        for name in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=client_context, server_hostname=name)
            assert await reader.readline() == b"hello\n"
            writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=client_context,
                                          server_hostname="example.com")
    finally:
        server.close()
        await server.wait_closed()


def test_ssl_context_refuses_credentials_that_are_not_on_disk(tmp_path: Path) -> None:
    """server_ssl_context will not present files other than the credentials it was given."""
    creds = security.load_or_create(tmp_path)
    other = Credentials(cert_pem=creds.cert_pem, key_pem=b"other", token=creds.token)
    with pytest.raises(CredentialsError, match="not the credentials given"):
        security.server_ssl_context(other, tmp_path)


# -- kubeconfig ------------------------------------------------------------------------------


def written_kubeconfig(tmp_path: Path, server: str = "https://127.0.0.1:6443",
                       path: Path | None = None) -> tuple[Path, Credentials]:
    creds = security.load_or_create(tmp_path / "state")
    path = path or tmp_path / "state" / "kubeconfig"
    security.write_kubeconfig(path, server=server, creds=creds)
    return path, creds


def test_kubeconfig_is_standard_and_private(tmp_path: Path) -> None:
    """The kubeconfig is 0600 and names cluster, user and context `redisha`, current."""
    path, creds = written_kubeconfig(tmp_path)
    assert mode(path) == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["apiVersion"] == "v1" and config["kind"] == "Config"
    assert config["current-context"] == "redisha"
    assert config["clusters"] == [{"name": "redisha", "cluster": {
        "server": "https://127.0.0.1:6443",
        "certificate-authority-data": base64.b64encode(creds.cert_pem).decode()}}]
    assert config["users"] == [{"name": "redisha", "user": {"token": creds.token}}]
    assert config["contexts"] == [{"name": "redisha",
                                   "context": {"cluster": "redisha", "user": "redisha"}}]
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_kubeconfig_loads_in_the_official_client(tmp_path: Path) -> None:
    """kubernetes.config.load_kube_config reads the server, the bearer token and the CA."""
    path, creds = written_kubeconfig(tmp_path, server="https://127.0.0.1:16443")
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(path),
                                       client_configuration=configuration)
    assert configuration.host == "https://127.0.0.1:16443"
    assert configuration.api_key == {"BearerToken": f"Bearer {creds.token}"}
    assert configuration.verify_ssl
    assert Path(configuration.ssl_ca_cert).read_bytes() == creds.cert_pem


def test_kubeconfig_merges_into_an_existing_one(tmp_path: Path) -> None:
    """Other contexts are kept; the redisha entries are replaced, never duplicated."""
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod:6443"}}],
        "users": [{"name": "prod", "user": {"token": "p"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}]}))
    written_kubeconfig(tmp_path, server="https://127.0.0.1:1111", path=path)
    written_kubeconfig(tmp_path, server="https://127.0.0.1:2222", path=path)
    config = yaml.safe_load(path.read_text())
    assert config["current-context"] == "redisha"
    assert [c["name"] for c in config["clusters"]] == ["prod", "redisha"]
    assert [c["name"] for c in config["contexts"]] == ["prod", "redisha"]
    assert [u["name"] for u in config["users"]] == ["prod", "redisha"]
    assert config["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:2222"
    assert mode(path) == 0o600


@pytest.mark.parametrize("content", ["- a list\n", "kind: Pod\n", "clusters: {a: 1}\n",
                                     "key: [unclosed\n"])
def test_a_file_that_is_no_kubeconfig_is_left_alone(tmp_path: Path, content: str) -> None:
    """An existing file that is not a kubeconfig is named in one line and not overwritten."""
    path = tmp_path / "config"
    path.write_text(content)
    with pytest.raises(CredentialsError) as caught:
        written_kubeconfig(tmp_path, path=path)
    assert str(caught.value).startswith(f"{path}: not a kubeconfig")
    assert "\n" not in str(caught.value)
    assert path.read_text() == content


def test_kubeconfig_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """A kubeconfig path that is a symlink has its target rewritten, the link kept."""
    target = tmp_path / "real-config"
    link = tmp_path / "config"
    link.symlink_to(target)
    written_kubeconfig(tmp_path, path=link)
    assert link.is_symlink()
    assert yaml.safe_load(target.read_text())["current-context"] == "redisha"


# -- listening -------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost",
                                  "LOCALHOST"])
def test_loopback_hosts_are_fine(host: str) -> None:
    """Loopback addresses and localhost need no flag."""
    security.check_listen(host, allow_remote=False)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_other_hosts_need_the_flag(host: str) -> None:
    """Anything else is refused without --allow-remote and accepted with it."""
    with pytest.raises(ValueError, match="not a loopback address"):
        security.check_listen(host, allow_remote=False)
    security.check_listen(host, allow_remote=True)


def test_refusal_is_the_documented_line() -> None:
    """The refusal names the address and the flag, in one line."""
    with pytest.raises(ValueError) as caught:
        security.check_listen("0.0.0.0", allow_remote=False)
    assert str(caught.value) == ("refusing to listen on 0.0.0.0: not a loopback address "
                                 "(pass --allow-remote to serve the API beyond this machine)")



def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    """A traceback or a `%r` log line showing the credentials never shows the token or
    the key."""
    creds = security.load_or_create(tmp_path / "state")
    assert creds.token not in repr(creds)
    assert "PRIVATE KEY" not in repr(creds)
