"""pytest fixtures for the mobile-core scenarios: the generated bindings, a
real phr-server per test (SQLite, or PostgreSQL when PHR_TEST_POSTGRES_URL is
set), and phones: a PhrClient each, with its own store file and transport."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

CLINIC_ID = "sakura-clinic"
CLINIC_NAME = "Sakura Maternity Clinic"


@pytest.fixture(scope="session")
def phr():
    return harness.load_bindings()


@pytest.fixture
def server():
    with harness.running_server(organizations=((CLINIC_ID, CLINIC_NAME),)) as srv:
        yield srv


class Phone:
    """One device: a store file, a device storage key (as the Keychain/Keystore
    would keep it) and the app's HTTP transport."""

    def __init__(self, phr, directory: Path, name: str, transport=None):
        self.phr = phr
        self.name = name
        self.path = str(directory / f"{name}.db")
        self.storage_key = os.urandom(32)
        self.transport = transport or harness.make_transport(phr)()
        self.client = phr.PhrClient.open(self.path, self.storage_key, self.transport)

    def close(self):
        """As when the app is killed: the client (and its store lock) goes away."""
        self.client = None
        gc.collect()

    def reopen(self):
        """As after an app restart: a new client on the same file and key."""
        self.close()
        self.client = self.phr.PhrClient.open(self.path, self.storage_key, self.transport)
        return self.client


@pytest.fixture
def phone(phr, tmp_path):
    def make(name: str, transport=None) -> Phone:
        return Phone(phr, tmp_path, name, transport)

    return make


@pytest.fixture
def faulty(phr):
    """Makes fault-injecting transports (`harness.make_faulty_transport`)."""
    cls = harness.make_faulty_transport(phr)

    def make(seed: int = 0):
        return cls(seed=seed)

    return make
