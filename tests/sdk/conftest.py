"""Fixtures: a `dream serve` subprocess on a free loopback port, with its own SQLite
file holding the real transcripts from ../shared/data, API keys of several scopes,
and `anthropic.Anthropic` clients pointed at it with `base_url`.

The binary is `target/debug/dream` (build it with `cargo build -p dream-cli`), or
the path in `DREAM_BIN`. The data directory is `../shared/data` beside the
repository, or `DREAM_TEST_DATA`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import anthropic
import pytest

REPO = Path(__file__).resolve().parents[2]
DREAM_BIN = Path(os.environ.get("DREAM_BIN", REPO / "target" / "debug" / "dream"))
DATA = Path(os.environ.get("DREAM_TEST_DATA", REPO.parent / "shared" / "data"))
CLAUDE_CODE = DATA / "claude-code"
TAU_BENCH = DATA / "tau-bench" / "historical_trajectories" / "gpt-4o-airline.json"

# Each dream sleeps this long per session while extracting, so a dream over many
# sessions is visibly `running` long enough to cancel it.
EXTRACT_DELAY_MS = 300
# Webhook retry delays (5 s, 5 min, ...) times this.
WEBHOOK_RETRY_SCALE = 0.001

ADMIN = "admin"
READER = "reader"  # memory:read only
NO_REVIEW = "no_review"  # everything a pipeline needs except proposals:review
KEY_SCOPES = {
    ADMIN: "admin",
    READER: "memory:read",
    NO_REVIEW: "memory:read,memory:write,sessions:read,sessions:write,dreams:read,dreams:write",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    # A fixed clock or id seed would make every created object collide or look old.
    for name in ("DREAM_NOW", "DREAM_ID_SEED", "DREAM_DB"):
        env.pop(name, None)
    env.setdefault("NO_COLOR", "1")
    return env


def run_cli(db: Path, *args: str, json_out: bool = False) -> Any:
    """Runs `dream --db DB ARGS…`; returns stdout (parsed when `json_out`)."""
    cmd = [str(DREAM_BIN), "--db", str(db), "--quiet", *args]
    if json_out:
        cmd.insert(3, "--json")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=120)
    if proc.returncode != 0:
        raise AssertionError(
            f"`{' '.join(cmd)}` exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
        )
    return json.loads(proc.stdout) if json_out else proc.stdout


@dataclass
class Server:
    """A running `dream serve`."""

    url: str
    db: Path
    keys: Dict[str, str]
    proc: subprocess.Popen
    log_path: Path
    key_ids: Dict[str, str] = field(default_factory=dict)
    clients: List[anthropic.Anthropic] = field(default_factory=list)

    def client(self, key: Optional[str] = ADMIN, **kwargs: Any) -> anthropic.Anthropic:
        """An SDK client with the named key (`ADMIN`, `READER`, …) or a literal secret."""
        secret = self.keys.get(key, key) if key is not None else "no-key-configured"
        c = anthropic.Anthropic(api_key=secret, base_url=self.url, max_retries=0, timeout=30.0, **kwargs)
        self.clients.append(c)
        return c

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def raw(
        self,
        method: str,
        path: str,
        body: Any = None,
        key: Optional[str] = ADMIN,
        headers: Optional[Dict[str, str]] = None,
    ) -> "RawResponse":
        """One HTTP request without the SDK (to send no key at all, or to read a status
        and body exactly as the server wrote them)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        if key is not None:
            req.add_header("x-api-key", self.keys.get(key, key))
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return RawResponse(resp.status, dict(resp.headers), resp.read())
        except urllib.error.HTTPError as err:
            return RawResponse(err.code, dict(err.headers), err.read())


@dataclass
class RawResponse:
    status: int
    headers: Dict[str, str]
    content: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError as err:
            raise AssertionError(f"body is not JSON ({err}): {self.content[:500]!r}") from None


def _start(db: Path, workdir: Path, name: str) -> Server:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = workdir / f"{name}.log"
    env = _env()
    env["DREAM_TEST_EXTRACT_DELAY_MS"] = str(EXTRACT_DELAY_MS)
    env["DREAM_WEBHOOK_RETRY_SCALE"] = str(WEBHOOK_RETRY_SCALE)
    env.setdefault("DREAM_LOG", "warn")
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(DREAM_BIN), "--db", str(db), "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    log.close()
    server = Server(url=url, db=db, keys={}, proc=proc, log_path=log_path)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"`dream serve` exited with {proc.returncode} before answering:\n{server.log()}")
        try:
            if server.raw("GET", "/health", key=None).status == 200:
                return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"`dream serve` did not answer GET /health within 30 s:\n{server.log()}")
        time.sleep(0.05)


def _stop(server: Server) -> None:
    for c in server.clients:
        c.close()
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture(scope="session")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="dream-sdk-"))
    yield path
    if os.environ.get("DREAM_SDK_KEEP") != "1":
        shutil.rmtree(path, ignore_errors=True)
    else:
        print(f"\nkept {path}")


def pytest_sessionstart(session: pytest.Session) -> None:
    if not DREAM_BIN.exists():
        pytest.exit(
            f"{DREAM_BIN} does not exist: build it first with `cargo build -p dream-cli` "
            "(or point DREAM_BIN at a `dream` binary)",
            returncode=4,
        )


@pytest.fixture(scope="session")
def server(workdir: Path):
    """The shared server: real transcripts ingested, three keys, auth required."""
    if not CLAUDE_CODE.is_dir() or not TAU_BENCH.is_file():
        pytest.skip(f"real transcripts not found under {DATA} (set DREAM_TEST_DATA)")
    db = workdir / "dream.db"
    run_cli(db, "ingest", str(CLAUDE_CODE))
    run_cli(db, "ingest", str(TAU_BENCH))
    keys: Dict[str, str] = {}
    key_ids: Dict[str, str] = {}
    for name, scopes in KEY_SCOPES.items():
        created = run_cli(db, "keys", "create", "--name", name, "--scopes", scopes, json_out=True)
        secret = created.get("secret") if isinstance(created, dict) else None
        assert isinstance(secret, str) and secret.startswith("dream_sk_"), (
            f"`dream keys create --json` should print the secret (dream_sk_…), got {created!r}"
        )
        keys[name] = secret
        key_ids[name] = created.get("id", "")
    srv = _start(db, workdir, "serve")
    srv.keys = keys
    srv.key_ids = key_ids
    yield srv
    _stop(srv)


@pytest.fixture(scope="session")
def client(server: Server) -> anthropic.Anthropic:
    return server.client(ADMIN)


@pytest.fixture(scope="session")
def open_server(workdir: Path):
    """A second server on an empty store with no API keys: open on loopback."""
    db = workdir / "open.db"
    run_cli(db, "init")
    srv = _start(db, workdir, "serve-open")
    yield srv
    _stop(srv)


# ---------------------------------------------------------------- helpers


def unique(prefix: str) -> str:
    """A name no other test uses (the shared server outlives each test)."""
    return f"{prefix}-{time.time_ns()}"


def wait_for_dream(
    client: anthropic.Anthropic,
    dream_id: str,
    statuses=("completed", "failed", "canceled"),
    timeout: float = 60.0,
):
    """Polls `client.beta.dreams.retrieve` until the dream reaches one of `statuses`."""
    deadline = time.monotonic() + timeout
    seen = []
    while True:
        dream = client.beta.dreams.retrieve(dream_id)
        if not seen or seen[-1] != dream.status:
            seen.append(dream.status)
        if dream.status in statuses:
            return dream
        if time.monotonic() > deadline:
            raise AssertionError(
                f"dream {dream_id} did not reach {statuses} in {timeout} s; statuses seen: {seen}; last: {dream.to_json()}"
            )
        time.sleep(0.1)


def session_kind(session: Any) -> Optional[str]:
    """dream's extension field on a session: where it was imported from."""
    return getattr(session, "source_kind", None) or (session.model_extra or {}).get("source_kind")


_sessions_cache: Dict[str, Any] = {}
_sessions_lock = threading.Lock()


def all_sessions(client: anthropic.Anthropic) -> List[Any]:
    """Every session, through the SDK's auto-pager (cached per server URL)."""
    key = str(client.base_url)
    with _sessions_lock:
        if key not in _sessions_cache:
            _sessions_cache[key] = list(client.beta.sessions.list(limit=100))
        return _sessions_cache[key]


def subagent_sessions(client: anthropic.Anthropic, parents: List[str]) -> List[str]:
    """dream's extension: `include_subagents=true` also lists Claude Code subagent
    sessions, each naming its main session in `parent_session_id`."""
    listed = client.beta.sessions.list(limit=100, extra_query={"include_subagents": "true"})
    return [s.id for s in listed if getattr(s, "parent_session_id", None) in parents]


def claude_code_sessions(client: anthropic.Anthropic) -> List[str]:
    """The ids of the 5 top-level Claude Code sessions (not their subagents)."""
    found = [
        s
        for s in all_sessions(client)
        if session_kind(s) == "claude_code" and getattr(s, "parent_session_id", None) is None
    ]
    assert len(found) == 5, (
        "expected the 5 top-level Claude Code sessions (source_kind claude_code, no parent_session_id); "
        f"got {[(s.id, session_kind(s), getattr(s, 'parent_session_id', None)) for s in all_sessions(client)][:20]}"
    )
    return [s.id for s in found]


def tau_bench_sessions(client: anthropic.Anthropic) -> List[str]:
    found = [s.id for s in all_sessions(client) if session_kind(s) == "tau_bench"]
    assert len(found) == 200, f"expected 200 tau-bench sessions, got {len(found)}"
    return found


def error_of(exc: anthropic.APIStatusError) -> Dict[str, Any]:
    """The `error` object of an Anthropic-shaped error body, asserting the shape."""
    body = exc.body
    assert isinstance(body, dict), f"error body should be a JSON object, got {body!r}"
    assert body.get("type") == "error", f"error body should have type 'error': {body!r}"
    err = body.get("error")
    assert isinstance(err, dict), f"error body should have an 'error' object: {body!r}"
    assert isinstance(err.get("type"), str) and err["type"], f"error.type missing: {body!r}"
    assert isinstance(err.get("message"), str) and len(err["message"]) >= 10, (
        f"error.message should say what is wrong: {body!r}"
    )
    return err

