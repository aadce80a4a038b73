"""The admin listener and the server metrics of the Python currency service, as a process over
real sockets: calls made over TLS, then `/metrics` scraped over HTTP and read as Prometheus
reads it. Counters are compared before and after, so the tests do not depend on each other."""

from __future__ import annotations

import queue
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2 as pb
from bazaar_client.generated.bazaar.type.v1 import money_pb2
from bazaar_currency.admin import Admin
from bazaar_currency.server import parse_config
from conftest import Running, python_server, wait_until

SERVICE = "bazaar.currency.v1.CurrencyService"
_ADMIN = re.compile(r"admin listener.*address=([0-9.]+:[0-9]+)")


def admin_address(running: Running) -> str:
    """Where the server's admin listener listens, as it logged it."""
    found: list[str] = []

    def logged() -> bool:
        found.extend(m.group(1) for line in list(running.log) if (m := _ADMIN.search(line)))
        return bool(found)

    assert wait_until(logged), "no admin listener address in the log:\n" + "".join(running.log)
    return found[0]


def get(address: str, path: str) -> tuple[int, str, str]:
    """GET http://address/path: status, content type, body."""
    try:
        with urllib.request.urlopen(f"http://{address}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples(address: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of `/metrics`, by name and labels."""
    status, kind, body = get(address, "/metrics")
    assert status == 200 and kind.startswith("text/plain"), (status, kind)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def settled(address: str, before: dict, expected: dict[tuple[str, frozenset], float]) -> dict:
    """Scrapes until every series of `expected` has moved by its amount since `before`, for
    up to ten seconds (a call is counted as its handler returns, which may be just after its
    caller has the answer); returns what moved, for the assertion's message."""
    moved: dict = {}

    def done() -> bool:
        after = samples(address)
        moved.clear()
        moved.update({key: after.get(key, 0.0) - before.get(key, 0.0) for key in expected})
        return moved == expected

    wait_until(done)
    return moved


def series(name: str, **labels: str) -> tuple[str, frozenset]:
    return name, frozenset(labels.items())


def call_labels(method: str, grpc_type: str = "unary", service: str = SERVICE) -> dict[str, str]:
    return {"grpc_type": grpc_type, "grpc_service": service, "grpc_method": method}


@pytest.fixture(scope="module")
def limited(data_dir: Path) -> Iterator[Running]:
    """A server that admits one call at a time."""
    running = python_server(data_dir, "--max-in-flight", "1")
    yield running
    running.stop()


def test_admin_listener_answers_health_readiness_and_metrics(server: Running) -> None:
    address = admin_address(server)
    assert get(address, "/healthz")[0] == 200
    assert get(address, "/readyz")[0] == 200
    assert get(address, "/nothing-here")[0] == 404
    scraped = samples(address)
    for name in ("process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
                 "process_max_fds", "process_start_time_seconds"):
        assert value(scraped, name) > 0, name


def test_readiness_follows_the_service() -> None:
    admin = Admin(lambda: b"")
    assert admin.respond("GET", "/readyz")[0] == 503
    admin.ready = True
    assert admin.respond("GET", "/readyz")[0] == 200
    assert admin.respond("POST", "/metrics")[0] == 405


def test_calls_are_counted_by_method_and_code_and_timed(server: Running) -> None:
    address = admin_address(server)
    before = samples(address)
    stub = server.stub()
    for _ in range(2):
        stub.Convert(pb.ConvertRequest(amount=money_pb2.Money(currency_code="USD", units=10),
                                       to_currency_code="EUR"), timeout=5)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Convert(pb.ConvertRequest(to_currency_code="EUR"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    convert = call_labels("Convert")
    expected = {
        series("grpc_server_started_total", **convert): 3,
        series("grpc_server_handled_total", **convert, grpc_code="OK"): 2,
        series("grpc_server_handled_total", **convert, grpc_code="InvalidArgument"): 1,
        series("grpc_server_handling_seconds_count", **convert): 3,
        series("grpc_server_handling_seconds_bucket", **convert, le="+Inf"): 3,
    }
    assert settled(address, before, expected) == expected
    # The buckets are the Rust services' (chassis::metrics::LATENCY_BUCKETS).
    after = samples(address)
    assert series("grpc_server_handling_seconds_bucket", **convert, le="0.0005") in after
    assert series("grpc_server_handling_seconds_bucket", **convert, le="10.0") in after


def test_unknown_paths_are_counted_as_unknown(server: Running) -> None:
    address = admin_address(server)
    before = samples(address)
    channel = server.channel()
    for path in (f"/{SERVICE}/NoSuchMethod", "/no.such.v1.Service/Anything"):
        with pytest.raises(grpc.RpcError) as raised:
            channel.unary_unary(path)(b"", timeout=5)
        assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
    unknown = call_labels("unknown", service="unknown")
    expected = {series("grpc_server_handled_total", **unknown, grpc_code="Unimplemented"): 2}
    assert settled(address, before, expected) == expected
    after = samples(address)
    # No label value comes from the caller's path.
    assert not any("NoSuchMethod" in str(labels) or "no.such" in str(labels) for _, labels in after)


def test_calls_refused_at_the_limit_are_counted_unavailable(limited: Running) -> None:
    address = admin_address(limited)
    before = samples(address)
    # A reflection stream held open takes the one place there is.
    channel = limited.channel()
    requests: queue.Queue = queue.Queue()

    def request_stream():  # type: ignore[no-untyped-def]
        while (request := requests.get()) is not None:
            yield request

    responses = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(request_stream())
    requests.put(reflection_pb2.ServerReflectionRequest(list_services=""))
    assert next(responses).list_services_response.service
    with pytest.raises(grpc.RpcError) as raised:
        limited.stub().Convert(pb.ConvertRequest(amount=money_pb2.Money(currency_code="USD", units=1),
                                                 to_currency_code="EUR"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    requests.put(None)
    assert list(responses) == []
    reflection = call_labels("ServerReflectionInfo", "bidi_stream", "grpc.reflection.v1alpha.ServerReflection")

    expected = {
        series("grpc_server_handled_total", **call_labels("Convert"), grpc_code="Unavailable"): 1,
        series("grpc_server_handled_total", **reflection, grpc_code="OK"): 1,
    }
    assert settled(address, before, expected) == expected


def test_the_admin_address_follows_the_rust_services_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BAZAAR_ADMIN_LISTEN", raising=False)
    assert parse_config(["--listen", "127.0.0.1:50052"]).admin_listen == ("127.0.0.1", 9452)
    assert parse_config(["--listen", "0.0.0.0:6000"]).admin_listen == ("0.0.0.0", 9452)
    assert parse_config(["--listen", "127.0.0.1:0"]).admin_listen == ("127.0.0.1", 0)
    assert parse_config(["--admin-listen", "127.0.0.1:19452"]).admin_listen == ("127.0.0.1", 19452)
    assert parse_config(["--admin-listen", "off"]).admin_listen is None
    monkeypatch.setenv("BAZAAR_ADMIN_LISTEN", "[::1]:9999")
    assert parse_config([]).admin_listen == ("[::1]", 9999)
    with pytest.raises(SystemExit):
        parse_config(["--admin-listen", "localhost:9452"])
