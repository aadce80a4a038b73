"""How the client reaches a shop: TLS trusting the shop's CA (found in the data directory,
or where BAZAAR_TLS_CA says), a client certificate when one is given, plaintext only when
asked for. Against real gRPC servers on real sockets (health only), with a CA and
certificates made for the run; no live shop needed."""

from __future__ import annotations

from concurrent import futures
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from bazaar_client import Bazaar, channel_credentials
from pki import make_ca, make_pki


class _Recording(health.HealthServicer):
    """Health that remembers the client certificate's SANs of each call."""

    def __init__(self) -> None:
        super().__init__()
        self.peers: list[list[bytes]] = []

    def Check(self, request, context):  # type: ignore[no-untyped-def]  # noqa: N802
        self.peers.append(list(context.auth_context().get("x509_subject_alternative_name", [])))
        return super().Check(request, context)


class Server:
    def __init__(self, credentials: grpc.ServerCredentials | None) -> None:
        self.health = _Recording()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        if credentials is None:
            port = self.server.add_insecure_port("127.0.0.1:0")
        else:
            port = self.server.add_secure_port("127.0.0.1:0", credentials)
        self.address = f"127.0.0.1:{port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(None)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory laid out as `bazaar up` lays it out: pki/ with the CA, catalog's
    certificate and the operator's."""
    directory = tmp_path_factory.mktemp("data")
    make_pki(directory / "pki", ("catalog",), ("operator",))
    return directory


def tls_server(data_dir: Path, require_client_auth: bool) -> Server:
    pki = data_dir / "pki"
    pair = ((pki / "catalog.key").read_bytes(), (pki / "catalog.crt").read_bytes())
    return Server(grpc.ssl_server_credentials(
        [pair], root_certificates=(pki / "ca.crt").read_bytes(), require_client_auth=require_client_auth
    ))


@pytest.fixture(scope="module")
def served(data_dir: Path) -> Iterator[Server]:
    """catalog's certificate, client certificates optional: as bazaar's services serve."""
    server = tls_server(data_dir, require_client_auth=False)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BAZAAR_PLAINTEXT", "BAZAAR_TLS_CA", "BAZAAR_TLS_CERT", "BAZAAR_TLS_KEY", "BAZAAR_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def check(shop: Bazaar) -> int:
    """A health check of "catalog" (wherever BAZAAR_CATALOG_ADDR points)."""
    stub = health_pb2_grpc.HealthStub(shop.channel("catalog"))
    return stub.Check(health_pb2.HealthCheckRequest(), timeout=5).status


def refused(shop: Bazaar) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        check(shop)
    return raised.value.code()


SERVING = health_pb2.HealthCheckResponse.SERVING


def test_tls_trusting_the_ca_of_the_data_dir(served: Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAZAAR_CATALOG_ADDR", served.address)
    with Bazaar(data_dir=data_dir) as shop:
        assert check(shop) == SERVING
    monkeypatch.setenv("BAZAAR_DATA_DIR", str(data_dir))
    with Bazaar() as shop:
        assert check(shop) == SERVING
    # No client certificate unless one is given.
    assert served.health.peers[-1] == []


def test_the_default_is_data_pki_in_the_working_directory(
    served: Server, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BAZAAR_CATALOG_ADDR", served.address)
    monkeypatch.chdir(data_dir.parent)
    data_dir.rename(data_dir.parent / "data")
    try:
        with Bazaar() as shop:
            assert check(shop) == SERVING
    finally:
        (data_dir.parent / "data").rename(data_dir)


def test_bazaar_tls_ca_names_the_ca(served: Server, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAZAAR_CATALOG_ADDR", served.address)
    monkeypatch.setenv("BAZAAR_TLS_CA", str(data_dir / "pki" / "ca.crt"))
    with Bazaar(data_dir=tmp_path) as shop:
        assert check(shop) == SERVING
    # A CA that did not sign the server's certificate: the handshake fails.
    monkeypatch.setenv("BAZAAR_TLS_CA", str(make_ca(tmp_path, "stranger")))
    with Bazaar(data_dir=data_dir) as shop:
        assert refused(shop) == grpc.StatusCode.UNAVAILABLE
    # The argument wins over the variable.
    with Bazaar(ca=data_dir / "pki" / "ca.crt") as shop:
        assert check(shop) == SERVING


def test_a_tls_client_is_refused_by_a_plaintext_server_and_plaintext_is_asked_for(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(None)
    try:
        monkeypatch.setenv("BAZAAR_CATALOG_ADDR", server.address)
        with Bazaar(data_dir=data_dir) as shop:
            assert refused(shop) == grpc.StatusCode.UNAVAILABLE
        monkeypatch.setenv("BAZAAR_PLAINTEXT", "1")
        with Bazaar(data_dir="/nonexistent") as shop:
            assert check(shop) == SERVING
        monkeypatch.setenv("BAZAAR_PLAINTEXT", "0")
        with Bazaar(data_dir=data_dir) as shop:
            assert refused(shop) == grpc.StatusCode.UNAVAILABLE
        with Bazaar(plaintext=True) as shop:
            assert check(shop) == SERVING
    finally:
        server.stop()


def test_a_plaintext_client_is_refused_by_a_tls_server(served: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAZAAR_CATALOG_ADDR", served.address)
    with Bazaar(plaintext=True) as shop:
        assert refused(shop) == grpc.StatusCode.UNAVAILABLE


def test_the_client_certificate_when_given(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = data_dir / "pki"
    server = tls_server(data_dir, require_client_auth=True)
    try:
        monkeypatch.setenv("BAZAAR_CATALOG_ADDR", server.address)
        with Bazaar(data_dir=data_dir) as shop:
            assert refused(shop) == grpc.StatusCode.UNAVAILABLE
        monkeypatch.setenv("BAZAAR_TLS_CERT", str(pki / "operator.crt"))
        monkeypatch.setenv("BAZAAR_TLS_KEY", str(pki / "operator.key"))
        with Bazaar(data_dir=data_dir) as shop:
            assert check(shop) == SERVING
            # token views share the channel, and so the certificate
            assert check(shop.with_token("t")) == SERVING
        assert server.health.peers[-1] == [b"spiffe://bazaar.local/operator/operator"]
        monkeypatch.delenv("BAZAAR_TLS_CERT")
        monkeypatch.delenv("BAZAAR_TLS_KEY")
        with Bazaar(data_dir=data_dir, cert=pki / "operator.crt", key=pki / "operator.key") as shop:
            assert check(shop) == SERVING
    finally:
        server.stop()


def test_missing_files_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError) as raised:
        Bazaar(data_dir=tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "pki" / "ca.crt") in message and "BAZAAR_PLAINTEXT=1" in message, message
    make_pki(tmp_path / "pki", ())
    with pytest.raises(FileNotFoundError) as raised:
        Bazaar(data_dir=tmp_path, cert=tmp_path / "nobody.crt", key=tmp_path / "nobody.key")
    assert str(tmp_path / "nobody.crt") in str(raised.value)
    with pytest.raises(ValueError, match="both"):
        channel_credentials(tmp_path, cert=tmp_path / "pki" / "ca.crt")
    monkeypatch.setenv("BAZAAR_TLS_KEY", str(tmp_path / "pki" / "ca.key"))
    with pytest.raises(ValueError, match="both"):
        channel_credentials(tmp_path)
