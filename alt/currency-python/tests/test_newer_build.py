"""A build one contract version ahead (`newer_build.py`) against callers on today's
generated code: its answers carry the newer field on the wire, and today's code reads them
exactly as it reads the current service's."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2 as pb
from bazaar_client.generated.bazaar.type.v1 import money_pb2
from conftest import Running, start
from newer_build import EXTRA

NEWER = [sys.executable, str(Path(__file__).with_name("newer_build.py")), "--listen", "127.0.0.1:0"]


@pytest.fixture(scope="module")
def newer(data_dir: Path) -> Iterator[Running]:
    running = start([*NEWER, "--data-dir", str(data_dir)], ca=data_dir / "pki" / "ca.crt")
    yield running
    running.stop()


def request() -> pb.ConvertRequest:
    return pb.ConvertRequest(
        amount=money_pb2.Money(currency_code="USD", units=49, nanos=990_000_000),
        to_currency_code="JPY",
    )


def test_the_newer_build_sends_a_field_todays_contract_does_not_have(newer: Running) -> None:
    raw = newer.channel().unary_unary(
        "/bazaar.currency.v1.CurrencyService/Convert",
        request_serializer=pb.ConvertRequest.SerializeToString,
        response_deserializer=None,
    )(request(), timeout=5)
    assert raw.endswith(EXTRA)
    # Today's generated code parses it, and keeps what it does not know.
    parsed = pb.ConvertResponse.FromString(raw)
    assert parsed.converted.currency_code == "JPY"
    assert parsed.SerializeToString().endswith(EXTRA)


def test_todays_callers_read_its_answers_as_the_current_services(newer: Running, server: Running) -> None:
    from_newer = newer.stub().Convert(request(), timeout=5)
    from_current = server.stub().Convert(request(), timeout=5)
    assert from_newer.converted == from_current.converted
    assert from_newer.rates_date == from_current.rates_date
