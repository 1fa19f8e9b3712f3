"""The PBX's TLS certificate: the operator's, or a self-signed one made once.

A self-signed certificate still encrypts the seats' signalling (and with it
the SRTP keys); phones are told to accept it by its fingerprint, which
`hotline seat phone` prints.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hotline.config import Settings
from hotline.errors import HotlineError

VALID_DAYS = 3650


class TlsError(HotlineError):
    error_id = "pbx-tls-invalid"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def fingerprint(self) -> str:
        """SHA-256 of the certificate, as softphones show it (AA:BB:...)."""
        cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def tls_files(settings: Settings) -> TlsFiles:
    """The pair Asterisk serves; generated on first use when none is configured."""
    if settings.pbx.tls_cert is not None and settings.pbx.tls_key is not None:
        files = TlsFiles(settings.pbx.tls_cert, settings.pbx.tls_key)
        for path in (files.cert, files.key):
            if not path.is_file():
                raise TlsError(f"{path} does not exist (pbx.tls_cert / pbx.tls_key)")
        return files
    folder = settings.state_dir / "tls"
    files = TlsFiles(folder / "pbx.crt", folder / "pbx.key")
    if not (files.cert.is_file() and files.key.is_file()):
        _self_signed(settings, files)
    return files


def _names(settings: Settings) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([settings.pbx.address, settings.pbx.sip_host, "127.0.0.1"]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _self_signed(settings: Settings, files: TlsFiles) -> None:
    files.cert.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, settings.pbx.address),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "12345 hotline PBX"),
        ]
    )
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(settings)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        files.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def copy_into(files: TlsFiles, dest: Path) -> None:
    """Asterisk reads the pair from its own config folder (the sandbox sees
    nothing else of the state folder)."""
    _write_private(dest / "hotline-tls.crt", files.cert.read_bytes())
    _write_private(dest / "hotline-tls.key", files.key.read_bytes())
