"""TLS as `bazaar up` runs the service: the certificate from the data directory (or the
flags and variables that name other files), no client certificate needed, plaintext
clients refused, and plaintext only when asked for, with a warning."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import grpc
import pytest

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2 as pb
from conftest import PYTHON_SERVER, Running, python_server, start
from pki import make_ca, make_leaf, make_pki


def euro(channel: grpc.Channel) -> str:
    from bazaar_client.generated.bazaar.currency.v1 import currency_pb2_grpc

    stub = currency_pb2_grpc.CurrencyServiceStub(channel)
    return stub.GetCurrency(pb.GetCurrencyRequest(code="EUR"), timeout=5).currency.code


def tls_channel(address: str, ca: Path, client: tuple[Path, Path] | None = None) -> grpc.Channel:
    cert, key = client if client else (None, None)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca.read_bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )
    return grpc.secure_channel(address, credentials)


def presented_certificate(address: str, ca: Path) -> bytes:
    """The certificate the server at `address` presents in a TLS handshake offering HTTP/2,
    checked against `ca` and the address, as DER."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            assert tls.selected_alpn_protocol() == "h2"
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def refused(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        euro(channel)
    return raised.value.code()


def test_serves_tls_with_the_certificate_of_its_data_dir(server: Running, data_dir: Path) -> None:
    pki = data_dir / "pki"
    expected = ssl.PEM_cert_to_DER_cert((pki / "currency.crt").read_text())
    assert presented_certificate(server.address, pki / "ca.crt") == expected
    assert euro(tls_channel(server.address, pki / "ca.crt")) == "EUR"
    assert any("tls=" in line and "currency.crt" in line for line in server.log), server.log


def test_refuses_plaintext_clients(server: Running) -> None:
    assert refused(grpc.insecure_channel(server.address)) == grpc.StatusCode.UNAVAILABLE


def test_refuses_clients_that_trust_another_ca(server: Running, tmp_path: Path) -> None:
    stranger = make_ca(tmp_path, "stranger")
    assert refused(tls_channel(server.address, stranger)) == grpc.StatusCode.UNAVAILABLE


def test_a_client_certificate_is_optional(server: Running, data_dir: Path) -> None:
    pki = data_dir / "pki"
    operator = (pki / "operator.crt", pki / "operator.key")
    assert euro(tls_channel(server.address, pki / "ca.crt", operator)) == "EUR"


def test_flags_and_variables_name_other_files(tmp_path: Path) -> None:
    other = make_pki(tmp_path / "elsewhere", ("currency",))
    empty = tmp_path / "empty"
    empty.mkdir()
    files = ["--tls-cert", str(other / "currency.crt"), "--tls-key", str(other / "currency.key"),
             "--tls-ca", str(other / "ca.crt")]
    by_flags = start([*PYTHON_SERVER, "--data-dir", str(empty), *files], ca=other / "ca.crt")
    try:
        assert euro(by_flags.channel()) == "EUR"
    finally:
        assert by_flags.stop() == 0
    variables = {"BAZAAR_TLS_CERT": files[1], "BAZAAR_TLS_KEY": files[3], "BAZAAR_TLS_CA": files[5],
                 "BAZAAR_DATA_DIR": str(empty), "BAZAAR_PLAINTEXT": "0"}
    by_variables = start(PYTHON_SERVER, env=variables, ca=other / "ca.crt")
    try:
        assert euro(by_variables.channel()) == "EUR"
    finally:
        assert by_variables.stop() == 0


def failed_start(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PYTHON_SERVER, *flags], capture_output=True, text=True, timeout=30)


def test_refuses_to_start_without_its_certificate(tmp_path: Path) -> None:
    ended = failed_start("--data-dir", str(tmp_path))
    assert ended.returncode == 1, ended
    assert str(tmp_path / "pki" / "currency.crt") in ended.stderr, ended.stderr
    assert "--plaintext" in ended.stderr, ended.stderr


def test_refuses_a_key_that_is_not_the_certificates(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki", ("currency", "catalog"))
    ended = failed_start("--data-dir", str(tmp_path), "--tls-cert", str(pki / "currency.crt"),
                         "--tls-key", str(pki / "catalog.key"), "--tls-ca", str(pki / "ca.crt"))
    assert ended.returncode == 1, ended
    assert "does not fit" in ended.stderr, ended.stderr
    make_leaf(pki, "currency")
    (pki / "ca.crt").write_text("not a certificate\n")
    ended = failed_start("--data-dir", str(tmp_path), "--tls-ca", str(pki / "ca.crt"))
    assert ended.returncode == 1, ended
    assert "holds no PEM certificate" in ended.stderr, ended.stderr


@pytest.mark.parametrize("how", [["--plaintext"], []])
def test_plaintext_only_when_asked_for_and_with_a_warning(how: list[str], data_dir: Path) -> None:
    env = {} if how else {"BAZAAR_PLAINTEXT": "1"}
    running = start([*PYTHON_SERVER, "--data-dir", str(data_dir), *how], env=env)
    try:
        assert euro(running.channel()) == "EUR"
        assert refused(tls_channel(running.address, data_dir / "pki" / "ca.crt")) == grpc.StatusCode.UNAVAILABLE
        assert any("WARNING" in line and "PLAINTEXT" in line for line in running.log), running.log
        assert any("tls=off" in line for line in running.log), running.log
    finally:
        assert running.stop() == 0


def test_the_tls_server_logs_no_plaintext_warning(data_dir: Path) -> None:
    running = python_server(data_dir)
    try:
        assert euro(running.channel()) == "EUR"
        assert not any("PLAINTEXT" in line for line in running.log), running.log
    finally:
        assert running.stop() == 0
