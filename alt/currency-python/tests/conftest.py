"""Starts real currency servers, each a process of its own on a free port, for the tests:
over TLS with a PKI made for the session (see `pki`), as `bazaar up` runs them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import grpc
import pytest

from bazaar_client.generated.bazaar.currency.v1 import currency_pb2_grpc
from pki import make_pki

_ADDRESS = re.compile(r"listening.*address=(?:\x1b\[[0-9;]*m)*([0-9.]+:[0-9]+)")


@dataclass
class Running:
    """A server process, where it listens, the CA its certificate is checked against (None
    when it serves plaintext), and everything it has logged so far."""

    process: subprocess.Popen
    address: str
    log: list[str] = field(default_factory=list)
    ca: Path | None = None

    def channel(self) -> grpc.Channel:
        if self.ca is None:
            return grpc.insecure_channel(self.address)
        credentials = grpc.ssl_channel_credentials(root_certificates=self.ca.read_bytes())
        return grpc.secure_channel(self.address, credentials)

    def stub(self) -> currency_pb2_grpc.CurrencyServiceStub:
        return currency_pb2_grpc.CurrencyServiceStub(self.channel())

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


def start(command: list[str], env: dict[str, str] | None = None, ca: Path | None = None) -> Running:
    """Runs `command` (a server that logs `listening ... address=IP:PORT`) and waits for
    that line. `ca` is the CA of its certificate, None if it serves plaintext."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    found = threading.Event()
    address: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = _ADDRESS.search(line)
            if match and not address:
                address.append(match.group(1))
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    found.wait(30)
    if not address:
        process.kill()
        raise RuntimeError("server did not report its address:\n" + "".join(lines))
    return Running(process, address[0], lines, ca)


PYTHON_SERVER = [sys.executable, "-m", "bazaar_currency", "--listen", "127.0.0.1:0"]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose pki/ holds what `bazaar up` makes there: the CA, currency's
    certificate and an operator's client certificate."""
    directory = tmp_path_factory.mktemp("data")
    make_pki(directory / "pki", ("currency",), ("operator",))
    return directory


def python_server(data_dir: Path, *flags: str) -> Running:
    """The Python currency service over TLS, finding its certificate in `data_dir`."""
    return start([*PYTHON_SERVER, "--data-dir", str(data_dir), *flags], ca=data_dir / "pki" / "ca.crt")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[Running]:
    """The Python currency service, over TLS."""
    running = python_server(data_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def rust_server() -> Iterator[Running]:
    """The Rust currency service, from the `bazaar` binary named by BAZAAR_BIN (CI builds
    it); the test is skipped, saying so, without it. It serves plaintext (BAZAAR_PLAINTEXT):
    the comparison is of answers, and the Python service's TLS has tests of its own."""
    binary = os.environ.get("BAZAAR_BIN")
    if not binary:
        pytest.skip("BAZAAR_BIN is not set: no Rust currency service to compare with")
    running = start([binary, "serve", "currency", "--listen", "127.0.0.1:0"],
                    env={"NO_COLOR": "1", "BAZAAR_PLAINTEXT": "1",
                         "BAZAAR_DATA_DIR": os.environ.get("TMPDIR", "/tmp")})
    yield running
    running.stop()


def wait_until(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
