"""Test harness for driving the mobile core (phr-mobile) from Python.

- `load_bindings()` imports the uniffi-generated module `phr_mobile` from
  `target/bindings/python` (where scripts/bindings.sh put it next to the
  built library).
- `running_server()` starts a real `phr-server serve` on a free loopback port
  (`--listen 127.0.0.1:0`; the bound address is read from its JSON log) with a
  temporary data directory, on SQLite, or on a freshly created PostgreSQL
  database when `PHR_TEST_POSTGRES_URL` is set (dropped afterwards).
- `UrllibTransport` is the app's HTTP client: the `HttpTransport` foreign trait
  implemented with urllib, with an `offline` switch (flight mode).

Run as a program, it starts a server the same way and runs a command with
`PHR_SERVER_URL` set to it (the Kotlin program uses this):

    python harness.py --server target/debug/phr-server -- java -cp ... MainKt
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import email.utils
import importlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

REPO = Path(__file__).resolve().parents[3]
DEFAULT_BINDINGS = REPO / "target" / "bindings" / "python"
DEFAULT_SERVER = REPO / "target" / "debug" / "phr-server"
START_TIMEOUT_S = 60


def load_bindings():
    """The generated `phr_mobile` module (PHR_BINDINGS_DIR overrides the directory)."""
    directory = Path(os.environ.get("PHR_BINDINGS_DIR", DEFAULT_BINDINGS))
    if not (directory / "phr_mobile.py").exists():
        raise RuntimeError(f"no generated bindings in {directory}: run scripts/bindings.sh first")
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return importlib.import_module("phr_mobile")


def load_core():
    """The generated `phr_core` module: the typed dataset records (`RecordBody`,
    `PrenatalVisit`, `Kilograms`, the coded enums) phr_mobile takes and returns."""
    load_bindings()
    return importlib.import_module("phr_core")


def server_binary() -> Path:
    binary = Path(os.environ.get("PHR_SERVER_BIN", DEFAULT_SERVER))
    if not binary.exists():
        raise RuntimeError(f"no phr-server at {binary}: cargo build -p phr-server (or set PHR_SERVER_BIN)")
    return binary


def _with_database(admin_url: str, name: str) -> str:
    """The same PostgreSQL server URL with another database name."""
    scheme, rest = admin_url.split("://", 1) if "://" in admin_url else ("postgres", admin_url)
    rest, _, query = rest.partition("?")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def _psql(admin_url: str, sql: str) -> None:
    subprocess.run(["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True)


@contextlib.contextmanager
def test_database() -> Iterator[Tuple[str, Optional[str]]]:
    """(backend, database URL): SQLite (None: the server's default file in its
    data dir), or a uniquely named PostgreSQL database made for this run."""
    admin_url = os.environ.get("PHR_TEST_POSTGRES_URL")
    if not admin_url:
        yield "sqlite", None
        return
    name = "phr_pytest_" + uuid.uuid4().hex[:16]
    _psql(admin_url, f"CREATE DATABASE {name}")
    try:
        yield "postgres", _with_database(admin_url, name)
    finally:
        _psql(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Server:
    """A running `phr-server serve` process."""

    def __init__(
        self, binary: Path, data_dir: Path, database_url: Optional[str], backend: str, serve_args: Tuple[str, ...] = ()
    ):
        self.serve_args = tuple(serve_args)
        self.binary = binary
        self.data_dir = data_dir
        self.database_url = database_url
        self.backend = backend
        self.base_url = ""
        self.logs: List[str] = []
        self._process: Optional[subprocess.Popen] = None

    def _db_args(self) -> List[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def _env(self) -> dict:
        env = dict(os.environ)
        env.pop("PHR_DATABASE_URL", None)
        env.pop("PHR_DATA_DIR", None)
        env["PHR_LOG"] = "info"
        return env

    def admin(self, *args: str) -> str:
        """Runs an admin subcommand (`org add ...`) on the same database."""
        done = subprocess.run(
            [str(self.binary), *args[:2], *self._db_args(), *args[2:]],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"phr-server {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def add_organization(self, org_id: str, name: str, kind: str = "clinic", purpose: str = "treatment") -> None:
        self.admin("org", "add", "--id", org_id, "--name", name, "--kind", kind, "--purpose", purpose)

    def count_all(self, table: str) -> int:
        """All rows of `table` in the server's database."""
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table}")
        if self.database_url:
            done = subprocess.run(
                ["psql", self.database_url, "-v", "ON_ERROR_STOP=1", "-qAtc", f"SELECT count(*) FROM {table}"],
                capture_output=True,
                text=True,
                check=True,
            )
            return int(done.stdout.strip())
        with contextlib.closing(sqlite3.connect(self.data_dir / "phr.db")) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def count_rows(self, table: str, account_id: str) -> int:
        """Rows of `table` the server's database holds for `account_id`, read
        straight from the database (sqlite3, or psql for PostgreSQL)."""
        if not table.replace("_", "").isalnum():
            raise ValueError(f"not a table name: {table}")
        if self.database_url:
            sql = f"SELECT count(*) FROM {table} WHERE account_id = :'account'"
            done = subprocess.run(
                ["psql", self.database_url, "-v", "ON_ERROR_STOP=1", "-v", f"account={account_id}", "-qAt"],
                input=sql,
                capture_output=True,
                text=True,
                check=True,
            )
            return int(done.stdout.strip())
        with contextlib.closing(sqlite3.connect(self.data_dir / "phr.db")) as conn:
            return conn.execute(f"SELECT count(*) FROM {table} WHERE account_id = ?", (account_id,)).fetchone()[0]

    def start(self) -> None:
        cmd = [
            str(self.binary),
            "--log-format",
            "json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            *self._db_args(),
            *self.serve_args,
        ]
        self._process = subprocess.Popen(
            cmd,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        found: "queue.Queue[str]" = queue.Queue()

        def read_logs() -> None:
            assert self._process is not None and self._process.stderr is not None
            for line in self._process.stderr:
                self.logs.append(line.rstrip("\n"))
                addr = _listening_addr(line)
                if addr:
                    found.put(addr)

        threading.Thread(target=read_logs, daemon=True).start()
        try:
            addr = found.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            self.stop()
            raise RuntimeError("phr-server did not listen; logs:\n" + "\n".join(self.logs)) from None
        self.base_url = f"http://{addr}"

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies, so a
    crashed or killed run never leaves servers behind (prctl PR_SET_PDEATHSIG)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _listening_addr(line: str) -> Optional[str]:
    """The `addr` of a `{"fields":{"message":"listening","addr":"..."}}` log line."""
    try:
        fields = json.loads(line).get("fields", {})
    except (ValueError, AttributeError):
        return None
    if fields.get("message") == "listening":
        return fields.get("addr")
    return None


@contextlib.contextmanager
def running_server(organizations: Tuple[Tuple[str, str], ...] = (), serve_args: Tuple[str, ...] = ()) -> Iterator[Server]:
    """A server on a fresh database with `organizations` ((id, name) clinics)
    registered before it starts, started with `serve_args` (e.g.
    `("--max-body-bytes", "65536")`); stopped and its database dropped afterwards."""
    with test_database() as (backend, database_url), tempfile.TemporaryDirectory(prefix="phr-pytest-") as data_dir:
        server = Server(server_binary(), Path(data_dir), database_url, backend, serve_args)
        server.admin("migrate")
        for org_id, name in organizations:
            server.add_organization(org_id, name)
        server.start()
        try:
            yield server
        finally:
            server.stop()


def make_transport(phr_mobile):
    """An `HttpTransport` implementation over urllib for the given bindings module."""

    class UrllibTransport(phr_mobile.HttpTransport):
        """Sends each request with urllib, with the request's own timeout;
        4xx/5xx are answers, not errors; the answer's headers are passed back.
        `offline = True` makes every call fail as in flight mode."""

        def __init__(self, timeout_s: float = 30.0):
            self.timeout_s = timeout_s
            self.offline = False
            self.calls: List[str] = []
            self._lock = threading.Lock()

        def send(self, request):
            with self._lock:
                self.calls.append(f"{request.method} {request.url}")
            if self.offline:
                raise phr_mobile.TransportError.Failed("offline")
            body = bytes(request.body) if request.body else None
            if request.method in ("GET", "HEAD"):
                body = None
            req = urllib.request.Request(request.url, data=body, method=request.method)
            for header in request.headers:
                req.add_header(header.name, header.value)
            timeout = min(self.timeout_s, request.timeout_ms / 1000) if request.timeout_ms else self.timeout_s
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    return phr_mobile.HttpResponse(
                        status=resp.status, body=resp.read(), headers=_headers(phr_mobile, resp.headers)
                    )
            except urllib.error.HTTPError as answer:
                return phr_mobile.HttpResponse(
                    status=answer.code, body=answer.read(), headers=_headers(phr_mobile, answer.headers)
                )
            except (urllib.error.URLError, OSError) as failure:
                raise phr_mobile.TransportError.Failed(str(failure)) from None

    return UrllibTransport


def make_faulty_transport(phr_mobile):
    """A fault-injecting `HttpTransport`: the urllib transport with rules
    that change what the engine sees, as a bad network, a confused proxy or a
    wrong clock would. Each rule is `(matches, fault)`: `matches(request)`
    selects requests (see `on`), `fault` is one of

    - `"drop"`: no answer, nothing sent (a dead connection);
    - `"lose_answer"`: sent and applied by the server, the answer lost;
    - `"truncate"`: the answer's body cut in half (status kept);
    - `"stale_push_answer"`: the answer of an earlier push handed back instead;
    - `("status", code, retry_after)`: answered `code` without sending, with
      `Retry-After: retry_after` when it is not None;
    - `("date_shift_s", seconds)`: sent, the answer's `Date` moved by seconds
      (a server clock far from the device's, i.e. a skewed device);
    - `("block", event)`: waits until `event` is set, then sends;
    - `("rewrite", fn)`: sent, then `fn(response)` returns the answer to give.

    A rule fires `times` times (None: always). `seed` drives `random_faults`.
    """
    base = make_transport(phr_mobile)

    class FaultyTransport(base):
        def __init__(self, seed: int = 0, timeout_s: float = 30.0):
            super().__init__(timeout_s)
            self.rules: List[list] = []
            self.push_answers: List[bytes] = []
            self.sent_push_sizes: List[int] = []
            self._rng = __import__("random").Random(seed)
            self.random_rate = 0.0
            self.blocked = threading.Event()  # set while a ("block", ...) rule holds a request

        def add(self, matches, fault, times: Optional[int] = 1) -> None:
            self.rules.append([matches, fault, times])

        def clear(self) -> None:
            self.rules.clear()
            self.random_rate = 0.0

        def random_faults(self, rate: float) -> None:
            """Each request meets a random fault with probability `rate`."""
            self.random_rate = rate

        def _fault_for(self, request):
            for rule in self.rules:
                matches, fault, times = rule
                if matches(request) and (times is None or times > 0):
                    if times is not None:
                        rule[2] = times - 1
                    return fault
            if self.random_rate and self._rng.random() < self.random_rate:
                return self._rng.choice(
                    ["drop", "lose_answer", "truncate", "stale_push_answer", ("status", 503, "0"), ("status", 500, None)]
                )
            return None

        def send(self, request):
            fault = self._fault_for(request)
            is_push = request.url.endswith("/sync/v1/push")
            if fault == "drop":
                raise phr_mobile.TransportError.Failed("connection refused (injected)")
            if isinstance(fault, tuple) and fault[0] == "status":
                headers = [] if fault[2] is None else [phr_mobile.HttpHeader(name="Retry-After", value=fault[2])]
                body = json.dumps({"type": "about:blank", "status": fault[1], "detail": "injected"}).encode()
                return phr_mobile.HttpResponse(status=fault[1], body=body, headers=headers)
            if isinstance(fault, tuple) and fault[0] == "block":
                self.blocked.set()
                fault[1].wait(timeout=60)
                self.blocked.clear()
            if fault == "stale_push_answer" and is_push and self.push_answers:
                return phr_mobile.HttpResponse(status=200, body=self.push_answers[0], headers=[])
            if is_push:
                self.sent_push_sizes.append(len(request.body))
            response = super().send(request)
            if is_push and response.status == 200:
                self.push_answers.append(bytes(response.body))
            if fault == "lose_answer":
                raise phr_mobile.TransportError.Failed("connection reset after sending (injected)")
            if fault == "truncate":
                body = bytes(response.body)
                return phr_mobile.HttpResponse(status=response.status, body=body[: len(body) // 2], headers=response.headers)
            if isinstance(fault, tuple) and fault[0] == "date_shift_s":
                shifted = []
                for h in response.headers:
                    if h.name.lower() == "date":
                        moved = email.utils.parsedate_to_datetime(h.value) + datetime.timedelta(seconds=fault[1])
                        h = phr_mobile.HttpHeader(name="Date", value=email.utils.format_datetime(moved, usegmt=True))
                    shifted.append(h)
                return phr_mobile.HttpResponse(status=response.status, body=response.body, headers=shifted)
            if isinstance(fault, tuple) and fault[0] == "rewrite":
                return fault[1](response)
            return response

    return FaultyTransport


def on(method: Optional[str] = None, path: Optional[str] = None):
    """A request matcher: `method` (None: any) and a URL path that starts with `path`."""

    def matches(request) -> bool:
        url_path = "/" + request.url.split("://", 1)[-1].split("/", 1)[-1]
        return (method is None or request.method == method) and (path is None or url_path.startswith(path))

    return matches


def _headers(phr_mobile, message) -> list:
    return [phr_mobile.HttpHeader(name=name, value=value) for name, value in message.items()]


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a command against a fresh phr-server (PHR_SERVER_URL).")
    parser.add_argument("--server", help="the phr-server binary (default: PHR_SERVER_BIN or target/debug/phr-server)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND ARGS...")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if args.server:
        os.environ["PHR_SERVER_BIN"] = args.server
    with running_server() as server:
        print(f"phr-server ({server.backend}) at {server.base_url}", flush=True)
        env = dict(os.environ, PHR_SERVER_URL=server.base_url)
        return subprocess.run(command, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
