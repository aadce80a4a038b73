"""The live shop the purchase tests talk to: `bazaar up` on BAZAAR_ADDR_HOST (default
127.0.0.1) at the default ports, where the account BAZAAR_E2E_ADMIN_EMAIL (default
admin@bazaar.test) has been made admin with a one-time admin code (ClaimAdmin), reached
over TLS trusting its CA (data/pki/ca.crt in the working directory, or BAZAAR_TLS_CA), or
plaintext with BAZAAR_PLAINTEXT=1. scripts/clients-e2e.sh starts one, makes that admin,
and runs these tests against it."""

from __future__ import annotations

import os
from typing import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bazaar_client import DEFAULT_PORTS, Bazaar, address
from bazaar_client.generated.bazaar.identity.v1 import identity_pb2

ADMIN_EMAIL = os.environ.get("BAZAAR_E2E_ADMIN_EMAIL", "admin@bazaar.test")
ADMIN_PASSWORD = os.environ.get("BAZAAR_E2E_ADMIN_PASSWORD", "a long admin password")


@pytest.fixture(scope="session")
def shop() -> Iterator[Bazaar]:
    """Stubs of every service; fails at once, saying what to run, when the shop is not up."""
    with Bazaar() as shop:
        for service in DEFAULT_PORTS:
            health = health_pb2_grpc.HealthStub(shop.channel(service))
            try:
                status = health.Check(health_pb2.HealthCheckRequest(), timeout=3).status
            except grpc.RpcError as error:
                pytest.fail(
                    f"{service} at {address(service)} does not answer ({error.code().name}): "
                    "start the shop with `bazaar up` (or run scripts/clients-e2e.sh)"
                )
            assert status == health_pb2.HealthCheckResponse.SERVING, f"{service} is not SERVING"
        yield shop


@pytest.fixture(scope="session")
def admin(shop: Bazaar) -> Bazaar:
    """The shop as its admin: signed up on first use, logged in afterwards."""
    try:
        session = shop.identity.SignUp(
            identity_pb2.SignUpRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        ).session
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise
        session = shop.identity.LogIn(
            identity_pb2.LogInRequest(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        ).session
    return shop.with_token(session.access_token)
