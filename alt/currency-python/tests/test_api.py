"""The Python currency service through its contract only, as a process over a real socket:
the same cases as the Rust service's tests (crates/currency/tests/api.rs), then what the
chassis promises (health, reflection, graceful stop), then a side-by-side comparison with
the Rust service itself."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from bazaar_client.errors import bad_request_fields, resource_info
from bazaar_client.generated.bazaar.currency.v1 import currency_pb2 as pb
from bazaar_client.generated.bazaar.type.v1 import money_pb2
from bazaar_currency.money import I64_MAX, I64_MIN
from conftest import PYTHON_SERVER, Running, python_server, wait_until


def money(code: str, units: int, nanos: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code=code, units=units, nanos=nanos)


def convert(stub, amount: money_pb2.Money | None, to: str) -> money_pb2.Money:  # type: ignore[no-untyped-def]
    request = pb.ConvertRequest(to_currency_code=to)
    if amount is not None:
        request.amount.CopyFrom(amount)
    return stub.Convert(request, timeout=5).converted


def test_lists_every_currency_in_pages(server: Running) -> None:
    stub = server.stub()
    codes: list[str] = []
    token = ""
    while True:
        page = stub.ListCurrencies(pb.ListCurrenciesRequest(page_size=10, page_token=token))
        assert len(page.rates_date) == 10
        assert len(page.currencies) <= 10
        codes.extend(c.code for c in page.currencies)
        if not page.next_page_token:
            break
        token = page.next_page_token
    assert len(codes) >= 30
    assert codes == sorted(set(codes))
    assert "USD" in codes
    everything = stub.ListCurrencies(pb.ListCurrenciesRequest())
    assert [c.code for c in everything.currencies] == codes  # default page of 50 holds all 49
    assert everything.next_page_token == ""

    with pytest.raises(grpc.RpcError) as raised:
        stub.ListCurrencies(pb.ListCurrenciesRequest(page_size=-5, page_token="v1.nonsense"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(raised.value) == ["page_size", "page_token"]


def test_gets_one_currency(server: Running) -> None:
    stub = server.stub()
    yen = stub.GetCurrency(pb.GetCurrencyRequest(code="JPY")).currency
    assert yen.minor_unit_digits == 0
    assert yen.symbol
    usd = stub.GetCurrency(pb.GetCurrencyRequest(code="USD")).currency
    assert usd.units_per_usd == "1"
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetCurrency(pb.GetCurrencyRequest(code="XXX"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    info = resource_info(raised.value)
    assert info is not None and info.resource_name == "XXX"
    assert info.resource_type == "bazaar.currency.v1.Currency"
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetCurrency(pb.GetCurrencyRequest(code="usd"))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(raised.value) == ["code"]


def test_converts_exactly_and_rounds_half_to_even(server: Running) -> None:
    stub = server.stub()
    assert convert(stub, money("USD", 0, 125_000_000), "USD") == money("USD", 0, 120_000_000)
    assert convert(stub, money("USD", 0, 135_000_000), "USD") == money("USD", 0, 140_000_000)
    assert convert(stub, money("USD", -1, -125_000_000), "USD") == money("USD", -1, -120_000_000)
    yen = convert(stub, money("USD", 19, 990_000_000), "JPY")
    assert yen.nanos == 0 and yen.units > 19
    dinar = convert(stub, money("USD", 123, 0), "KWD")
    assert dinar.nanos % 1_000_000 == 0
    assert convert(stub, money("EUR", 0, 0), "GBP") == money("GBP", 0, 0)
    # With the shipped EUR rate 0.8634: 10.00 USD is 8.634 EUR, rounded to 8.63.
    assert convert(stub, money("USD", 10, 0), "EUR") == money("EUR", 8, 630_000_000)


BAD_CONVERSIONS = [
    (None, "EUR", ["amount"]),
    (money("ZZZ", 1, 0), "EUR", ["amount.currency_code"]),
    (money("usd", 1, 0), "EUR", ["amount.currency_code"]),
    (money("USD", 1, 0), "", ["to_currency_code"]),
    (money("USD", 1, 0), "QQQ", ["to_currency_code"]),
    (money("USD", 1, -5), "EUR", ["amount.units"]),
    (money("USD", -1, 5), "EUR", ["amount.units"]),
    (money("USD", 0, 1_000_000_000), "EUR", ["amount.nanos"]),
    (money("USD", 0, -1_000_000_000), "EUR", ["amount.nanos"]),
    (money("ZZZ", 0, 2_000_000_000), "QQQ", ["amount.currency_code", "amount.nanos", "to_currency_code"]),
    (money("USD", I64_MAX, 0), "VND", ["amount"]),
    (money("USD", I64_MIN, 0), "VND", ["amount"]),
]


@pytest.mark.parametrize(("amount", "to", "fields"), BAD_CONVERSIONS)
def test_bad_conversions_name_the_field(server: Running, amount, to: str, fields: list[str]) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        convert(server.stub(), amount, to)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request_fields(raised.value) == fields


def test_health_and_reflection(server: Running) -> None:
    channel = server.channel()
    health = health_pb2_grpc.HealthStub(channel)
    for name in ["", "bazaar.currency.v1.CurrencyService"]:
        answer = health.Check(health_pb2.HealthCheckRequest(service=name))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as raised:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND

    expected = {
        "bazaar.currency.v1.CurrencyService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    # v1 has the same messages as v1alpha, so the v1alpha stub's types can call v1 too.
    v1 = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    for call in (reflection.ServerReflectionInfo, v1):
        answers = list(call(iter([
            reflection_pb2.ServerReflectionRequest(list_services=""),
            reflection_pb2.ServerReflectionRequest(file_containing_symbol="bazaar.currency.v1.CurrencyService"),
        ])))
        assert {s.name for s in answers[0].list_services_response.service} == expected
        assert answers[1].file_descriptor_response.file_descriptor_proto


def test_stops_gracefully_on_sigterm_and_refuses_a_shared_port(data_dir: Path) -> None:
    running = python_server(data_dir)
    # A second server on the same port must fail, not share it.
    second = start_failing(PYTHON_SERVER[:-1] + [running.address, "--data-dir", str(data_dir)])
    assert second != 0
    stub = running.stub()
    assert stub.GetCurrency(pb.GetCurrencyRequest(code="EUR")).currency.code == "EUR"
    assert running.stop(signal.SIGTERM) == 0
    assert any("stopped" in line for line in running.log)


def start_failing(command: list[str]) -> int:
    return subprocess.run(command, capture_output=True, timeout=30).returncode


def supervised(data_dir: Path) -> tuple[subprocess.Popen, list[str]]:
    """The service as `bazaar up` runs it, standard input a pipe from the supervisor, once
    it listens (its signal handlers are in place by then); and the lines it logs."""
    process = subprocess.Popen(
        [*PYTHON_SERVER, "--data-dir", str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "BAZAAR_SUPERVISED": "1"},
    )
    lines: list[str] = []

    def pump() -> None:
        assert process.stderr is not None
        lines.extend(process.stderr)

    threading.Thread(target=pump, daemon=True).start()
    assert wait_until(lambda: any("listening" in line for line in lines), timeout=30), lines
    return process, lines


def test_stops_when_its_supervisor_is_gone(data_dir: Path) -> None:
    process, _ = supervised(data_dir)
    assert process.stdin is not None
    process.stdin.close()
    assert process.wait(15) == 0


def test_stops_cleanly_on_sigterm_while_supervised(data_dir: Path) -> None:
    # The lifeline thread is still blocked reading standard input when the process exits.
    # (Not `communicate`: it would close standard input first, which stops it another way.)
    process, lines = supervised(data_dir)
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert wait_until(lambda: any("stopped" in line for line in lines), timeout=5), lines
    log = "".join(lines)
    assert "stopped" in log and "supervisor gone" not in log, log
    assert process.stdin is not None
    process.stdin.close()


# --- the same answers as the Rust service --------------------------------------------------

CODES = ["USD", "EUR", "JPY", "KWD", "GBP", "VND", "CHF", "usd", "ZZZ", ""]
AMOUNTS = [
    (0, 0), (1, 0), (0, 5_000_000), (0, 125_000_000), (0, 135_000_000), (49, 990_000_000),
    (-1, -125_000_000), (123_456_789, 999_999_999), (1, -1), (0, 1_000_000_000),
    (I64_MAX, 999_999_999), (I64_MIN, -999_999_999), (10**15, 0),
]


def outcome(call):  # type: ignore[no-untyped-def]
    """What a call answered: the response, or the code, message and violated fields."""
    try:
        return ("ok", call())
    except grpc.RpcError as error:
        return ("error", error.code(), error.details(), bad_request_fields(error))


def test_answers_like_the_rust_service(server: Running, rust_server: Running) -> None:
    python, rust = server.stub(), rust_server.stub()
    compared = 0
    for source, target, (units, nanos) in itertools.product(CODES, CODES, AMOUNTS):
        request = pb.ConvertRequest(amount=money(source, units, nanos), to_currency_code=target)
        assert outcome(lambda: python.Convert(request)) == outcome(lambda: rust.Convert(request)), request
        compared += 1
    for code in CODES + ["XXX", "EURO"]:
        request = pb.GetCurrencyRequest(code=code)
        assert outcome(lambda: python.GetCurrency(request)) == outcome(lambda: rust.GetCurrency(request))
        compared += 1
    token = ""
    for size in [0, 1, 7, 48, 49, 50, 500, -1]:
        request = pb.ListCurrenciesRequest(page_size=size, page_token=token)
        python_page = outcome(lambda: python.ListCurrencies(request))
        assert python_page == outcome(lambda: rust.ListCurrencies(request))
        if python_page[0] == "ok":
            token = python_page[1].next_page_token  # tokens are interchangeable too
        compared += 1
    for token in ["v1.nonsense", "v1.", "x", "v1.+f"]:
        request = pb.ListCurrenciesRequest(page_token=token)
        assert outcome(lambda: python.ListCurrencies(request)) == outcome(lambda: rust.ListCurrencies(request))
        compared += 1
    print(f"compared {compared} calls: the Python and Rust currency services answered alike")
