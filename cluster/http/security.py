"""The API server's secrets: a self-signed certificate, a bearer token, and a kubeconfig.

`redisha serve` speaks HTTPS so that the real `kubectl` and the official Python client
talk to it unchanged, and those clients verify the server against a certificate
authority. There is no CA to ask, so the server's certificate is its own CA: one
self-signed certificate (basicConstraints CA:true) for the loopback names, handed to
clients as the kubeconfig's `certificate-authority-data`. kubectl (Go's crypto/x509) and
Python's ssl both accept a trusted root that is also the leaf.

Secrets are files in a state directory (`~/.redisha` by default), made on first start and
reused after, so a kubeconfig written once keeps working across restarts. Every secret
file is created with mode 0600 by `os.open` and renamed into place: it is never readable
by others, not even between being written and being chmod-ed, and a crash leaves the old
file or the new one, never half of one.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE = "apiserver.crt"
KEY_FILE = "apiserver.key"
TOKEN_FILE = "token"
KUBECONFIG_FILE = "kubeconfig"
"""The kubeconfig's name in the state directory, when no other path is asked for."""
NAME = "redisha"
"""The kubeconfig's cluster, user and context are all called this."""
LOOPBACK_NAMES = ("localhost",)
LOOPBACK_IPS = ("127.0.0.1", "::1")
CERT_LIFETIME = datetime.timedelta(days=365)
"""kubeadm's serving certificates last a year too; an expired one is simply remade."""
CLOCK_SKEW = datetime.timedelta(minutes=5)
"""notBefore is set this far back, so a client whose clock lags a little still accepts."""
STATE_DIR_MODE = 0o700
SECRET_MODE = 0o600


class CredentialsError(Exception):
    """A secret or kubeconfig file exists but cannot be used; `str()` is one line naming
    the file and what to do. Nothing on disk has been changed."""


@dataclass(frozen=True)
class Credentials:
    """What the server proves itself with and what it asks clients for."""

    cert_pem: bytes
    """The self-signed certificate (also the clients' certificate authority)."""
    key_pem: bytes = field(repr=False)
    """Its private key (PKCS#8 PEM, unencrypted: the file's mode guards it); kept out of
    `repr`, as the token, so a traceback or a log line never shows it."""
    token: str = field(repr=False)
    """The one bearer token the server accepts."""


# -- credentials -----------------------------------------------------------------------------


def load_or_create(state_dir: Path, *, hosts: Sequence[str] = ()) -> Credentials:
    """The credentials kept in `state_dir`, made there on first use.

    The certificate covers localhost, 127.0.0.1 and ::1, plus `hosts` (a non-loopback
    address `redisha serve --allow-remote` listens on). A certificate that has expired or
    does not cover every name is remade with a new key; the token is kept. Raises
    `CredentialsError` when a file exists but is not what it should be, and `OSError` when
    the directory cannot be made or written.
    """
    state_dir.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    names = _subject_names(hosts)
    token = _load_or_create_token(state_dir / TOKEN_FILE)
    cert_path, key_path = state_dir / CERT_FILE, state_dir / KEY_FILE
    if cert_path.exists() and key_path.exists():
        cert_pem, key_pem = cert_path.read_bytes(), key_path.read_bytes()
        cert = _parse_pair(cert_path, cert_pem, key_path, key_pem)
        if _usable(cert, names):
            return Credentials(cert_pem, key_pem, token)
    # Missing, half there (a crash between the two writes), expired or too narrow: remake
    # both. The key goes first, so a crash in between leaves no certificate without its key.
    cert_pem, key_pem = _self_signed(names)
    _write_private(key_path, key_pem)
    _write_private(cert_path, cert_pem)
    return Credentials(cert_pem, key_pem, token)


def _load_or_create_token(path: Path) -> str:
    if path.exists():
        token = path.read_text(errors="replace").strip()
        if not token or not token.isascii() or any(c.isspace() for c in token):
            raise CredentialsError(f"{path}: not a bearer token (one word of ASCII); delete "
                                   f"it to make a new one")
        return token
    token = secrets.token_urlsafe(32)
    _write_private(path, token.encode() + b"\n")
    return token


@dataclass(frozen=True)
class _Names:
    dns: tuple[str, ...]
    ips: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]


def _subject_names(hosts: Sequence[str]) -> _Names:
    dns = list(LOOPBACK_NAMES)
    ips = [ipaddress.ip_address(ip) for ip in LOOPBACK_IPS]
    for host in hosts:
        bare = host.strip().strip("[]")
        if not bare:
            continue
        try:
            ip = ipaddress.ip_address(bare)
        except ValueError:
            if bare.lower() not in dns:
                dns.append(bare.lower())
            continue
        if not ip.is_unspecified and ip not in ips:  # 0.0.0.0 and :: name no one
            ips.append(ip)
    return _Names(tuple(dns), tuple(ips))


def _parse_pair(cert_path: Path, cert_pem: bytes, key_path: Path,
                key_pem: bytes) -> x509.Certificate:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise CredentialsError(f"{cert_path}: not a PEM certificate; delete it and "
                               f"{key_path.name} to make new ones") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise CredentialsError(f"{key_path}: not an unencrypted PEM private key; delete it "
                               f"and {cert_path.name} to make new ones") from None
    if key.public_key() != cert.public_key():
        raise CredentialsError(f"{key_path}: not the key of {cert_path}; delete both to "
                               f"make new ones")
    return cert


def _usable(cert: x509.Certificate, names: _Names) -> bool:
    now = datetime.datetime.now(datetime.UTC)
    if not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False  # not self-signed: clients could not use it as their authority
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return (set(names.dns) <= {d.lower() for d in san.get_values_for_type(x509.DNSName)}
            and set(names.ips) <= set(san.get_values_for_type(x509.IPAddress)))


def _self_signed(names: _Names) -> tuple[bytes, bytes]:
    """A new P-256 key and a certificate that is both the server's and its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, NAME),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME}-apiserver")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in names.dns]
    sans += [x509.IPAddress(ip) for ip in names.ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CERT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def server_ssl_context(creds: Credentials, state_dir: Path) -> ssl.SSLContext:
    """A TLS 1.2+ server context presenting `creds`' certificate.

    OpenSSL loads a certificate chain only from files, so this reads the ones
    `load_or_create` wrote in `state_dir`; `creds` must be what is there (a mismatch is a
    `CredentialsError`, rather than a server quietly presenting another certificate).
    """
    cert_path, key_path = state_dir / CERT_FILE, state_dir / KEY_FILE
    if cert_path.read_bytes() != creds.cert_pem or key_path.read_bytes() != creds.key_pem:
        raise CredentialsError(f"{state_dir}: its {CERT_FILE} and {KEY_FILE} are not the "
                               f"credentials given (changed since they were loaded)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=cert_path, keyfile=key_path)
    return context


# -- kubeconfig ------------------------------------------------------------------------------


def write_kubeconfig(path: Path, *, server: str, creds: Credentials) -> None:
    """Write (mode 0600, atomically) a kubeconfig whose current context reaches `server`.

    The cluster, user and context are all named `redisha`. A kubeconfig already at `path`
    (`--kubeconfig ~/.kube/config`) keeps its other clusters, users and contexts: only the
    `redisha` entries and current-context change, as kind and minikube do. Raises
    `CredentialsError` (nothing written) when the existing file is not a kubeconfig.
    """
    target = path.expanduser().resolve()  # a symlinked ~/.kube/config stays a symlink
    config = _existing_kubeconfig(target)
    entries = {
        "clusters": {"name": NAME, "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(creds.cert_pem).decode()}},
        "users": {"name": NAME, "user": {"token": creds.token}},
        "contexts": {"name": NAME, "context": {"cluster": NAME, "user": NAME}},
    }
    for section, entry in entries.items():
        kept = [e for e in config.get(section) or [] if e.get("name") != NAME]
        config[section] = kept + [entry]
    config["current-context"] = NAME
    order = ("apiVersion", "kind", "clusters", "contexts", "current-context", "users")
    ordered = {k: config[k] for k in order} | {k: v for k, v in config.items() if k not in order}
    text = yaml.safe_dump(ordered, default_flow_style=False, sort_keys=False)
    target.parent.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    _write_private(target, text.encode())


def _existing_kubeconfig(path: Path) -> dict[str, Any]:
    fresh: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [],
                             "contexts": [], "current-context": "", "users": [],
                             "preferences": {}}
    if not path.exists():
        return fresh
    try:
        loaded = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CredentialsError(f"{path}: not a kubeconfig (not YAML: {first}); choose "
                               f"another --kubeconfig") from None
    if loaded is None:
        return fresh
    if not isinstance(loaded, dict) or loaded.get("kind", "Config") != "Config":
        raise CredentialsError(f"{path}: not a kubeconfig (kind Config expected); choose "
                               f"another --kubeconfig")
    for section in ("clusters", "users", "contexts"):
        value = loaded.get(section)
        if value is not None and not (isinstance(value, list)
                                      and all(isinstance(e, dict) for e in value)):
            raise CredentialsError(f"{path}: not a kubeconfig ({section} is not a list of "
                                   f"entries); choose another --kubeconfig")
    return {**fresh, **loaded}


# -- listening -------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or an address, IPv6 maybe in brackets) is this machine only."""
    bare = host.strip().strip("[]")
    if bare.lower().rstrip(".") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def check_listen(host: str, allow_remote: bool) -> None:
    """Raise `ValueError` (one line) unless listening on `host` keeps the API on this
    machine or `allow_remote` says serving it beyond is meant.

    A bearer token over TLS is what guards the API, and the cluster runs processes as
    root: exposing that to a network is a decision, never a default.
    """
    if allow_remote or is_loopback(host):
        return
    shown = host if host.strip() else "all addresses"
    raise ValueError(f"refusing to listen on {shown}: not a loopback address (pass "
                     f"--allow-remote to serve the API beyond this machine)")


# -- files -----------------------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, mode 0600 from the first byte, all or nothing."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


__all__ = ["CERT_FILE", "KEY_FILE", "KUBECONFIG_FILE", "NAME", "TOKEN_FILE", "Credentials",
           "CredentialsError", "check_listen", "is_loopback", "load_or_create",
           "server_ssl_context", "write_kubeconfig"]
