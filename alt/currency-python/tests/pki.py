"""A throwaway PKI for the tests, laid out as `bazaar up` lays out the shop's (`<dir>/ca.crt`,
`<dir>/ca.key`, `<dir>/<name>.crt`, `<dir>/<name>.key`, PEM), made with the `openssl`
command: a CA, server certificates with the SANs of the shop's (DNS localhost and the
service name, IP 127.0.0.1 and ::1, URI spiffe://bazaar.local/service/<name>) and client
certificates (spiffe://bazaar.local/operator/<name>)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _openssl(*args: str | Path) -> None:
    if shutil.which("openssl") is None:
        raise RuntimeError("the TLS tests need the openssl command to make their certificates")
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def make_ca(directory: Path, name: str = "ca") -> Path:
    """`<directory>/<name>.crt` and `.key`: a self-signed CA. Returns the certificate."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    _openssl("req", "-x509", *_KEY, "-keyout", key, "-out", cert, "-days", "2",
             "-subj", f"/CN=bazaar test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert


def make_leaf(directory: Path, name: str, *, operator: bool = False, ca: str = "ca") -> Path:
    """`<directory>/<name>.crt` and `.key`, signed by the CA `<directory>/<ca>.crt`: a server
    certificate for service `name`, or with `operator` a client certificate. Returns the
    certificate."""
    cert, key, request = directory / f"{name}.crt", directory / f"{name}.key", directory / f"{name}.csr"
    if operator:
        extensions = (f"subjectAltName=URI:spiffe://bazaar.local/operator/{name}\n"
                      "extendedKeyUsage=clientAuth\n")
    else:
        extensions = (f"subjectAltName=DNS:localhost,DNS:{name},IP:127.0.0.1,IP:::1,"
                      f"URI:spiffe://bazaar.local/service/{name}\n"
                      "extendedKeyUsage=serverAuth,clientAuth\n")
    extfile = directory / f"{name}.ext"
    extfile.write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + extensions)
    _openssl("req", "-new", *_KEY, "-keyout", key, "-out", request, "-subj", f"/CN={name}")
    _openssl("x509", "-req", "-in", request, "-CA", directory / f"{ca}.crt",
             "-CAkey", directory / f"{ca}.key", "-CAcreateserial", "-days", "2",
             "-out", cert, "-extfile", extfile)
    request.unlink()
    extfile.unlink()
    key.chmod(0o600)
    return cert


def make_pki(directory: Path, services: tuple[str, ...], operators: tuple[str, ...] = ()) -> Path:
    """A CA and a certificate for each of `services` and `operators` in `directory`."""
    make_ca(directory)
    for name in services:
        make_leaf(directory, name)
    for name in operators:
        make_leaf(directory, name, operator=True)
    return directory
