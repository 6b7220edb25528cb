"""Webhooks (dream's extension): a receiver that fails the first requests gets every
event exactly once as a 2xx-acknowledged delivery, each request signed as the
Standard Webhooks spec says (verified with the `standardwebhooks` library)."""

from __future__ import annotations

import base64
import http.server
import json
import os
import threading
import time
from typing import Any, Dict, List

import anthropic
import pytest
from standardwebhooks import Webhook

from conftest import Server, claude_code_sessions, unique, wait_for_dream

FAILURES = 3  # the receiver answers 500 to this many requests, then 200


class Receiver:
    """An HTTP server in a thread that records every request it gets."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.lock:
                    status = 500 if len(receiver.requests) < receiver.failures else 200
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "status": status,
                            "at": time.monotonic(),
                        }
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/dream"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def snapshot(self) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _payload(req: Dict[str, Any]) -> Dict[str, Any]:
    return json.loads(req["body"])


def _is_for(dream_id: str, payload: Dict[str, Any]) -> bool:
    data = payload.get("data") or {}
    return (data.get("dream") or {}).get("id") == dream_id or data.get("dream_id") == dream_id


def test_deliveries_are_signed_retried_and_exactly_once(server: Server, client: anthropic.Anthropic) -> None:
    probe = server.raw("GET", "/v1/webhooks")
    if probe.status in (404, 405) and "no route" in probe.content.decode(errors="replace"):
        pytest.skip(f"this build has no /v1/webhooks yet: GET answered {probe.status} {probe.content[:200]!r}")

    receiver = Receiver(FAILURES)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    created = server.raw(
        "POST",
        "/v1/webhooks",
        body={"url": receiver.url, "events": ["dream.completed", "proposal.created"], "secret": secret},
    )
    assert created.status in (200, 201), f"POST /v1/webhooks → {created.status} {created.content!r}"
    hook = created.json()
    hook_id = hook.get("id")
    assert isinstance(hook_id, str) and hook_id, hook
    secret = hook.get("secret") or secret  # a server may answer with the secret it stored
    try:
        store = client.beta.memory_stores.create(name=unique("webhook-input"))
        dream = client.beta.dreams.create(
            inputs=[
                {"type": "memory_store", "memory_store_id": store.id},
                {"type": "sessions", "session_ids": claude_code_sessions(client)},
            ],
            model="dream-local",
        )
        done = wait_for_dream(client, dream.id)
        assert done.status == "completed", done

        # Wait until both events of this dream were acknowledged (2xx).
        wanted = {"dream.completed", "proposal.created"}
        deadline = time.monotonic() + 20
        while True:
            acked = {
                _payload(r).get("type")
                for r in receiver.snapshot()
                if r["status"] == 200 and _is_for(dream.id, _payload(r))
            }
            if wanted <= acked:
                break
            if time.monotonic() > deadline:
                seen = [(r["status"], r["headers"].get("webhook-id"), r["body"][:120]) for r in receiver.snapshot()]
                raise AssertionError(f"not every event was acknowledged within 20 s; acked {acked}; requests: {seen}")
            time.sleep(0.05)
        time.sleep(1.5)  # long enough for a duplicate (a retry after a 2xx) to show up

        requests = receiver.snapshot()
        wh = Webhook(secret)
        for r in requests:
            for header in ("webhook-id", "webhook-timestamp", "webhook-signature"):
                assert header in r["headers"], f"{header} missing: {r['headers']}"
            verified = wh.verify(r["body"], r["headers"])  # raises on a bad signature
            assert verified.get("type") in wanted, f"only subscribed events arrive: {verified}"

        failed = [r for r in requests if r["status"] == 500]
        assert len(failed) == FAILURES, f"the first {FAILURES} requests were answered 500: {len(failed)}"
        acks: Dict[str, int] = {}
        for r in requests:
            if r["status"] == 200:
                acks[r["headers"]["webhook-id"]] = acks.get(r["headers"]["webhook-id"], 0) + 1
        assert all(n == 1 for n in acks.values()), f"each event is acknowledged exactly once: {acks}"
        failed_ids = {r["headers"]["webhook-id"] for r in failed}
        assert failed_ids <= set(acks), f"every failed delivery was retried until acknowledged: {failed_ids} vs {acks}"
        last_failure = max(r["at"] for r in failed)
        assert all(r["at"] >= last_failure for r in requests if r["status"] == 200), (
            "acknowledged deliveries came after the failures"
        )
        # A retry keeps its webhook-id and body: the same event, not a new one.
        by_id: Dict[str, set] = {}
        for r in requests:
            by_id.setdefault(r["headers"]["webhook-id"], set()).add(r["body"])
        assert all(len(bodies) == 1 for bodies in by_id.values()), "a retry resends the same body"

        ours = {_payload(r)["type"] for r in requests if r["status"] == 200 and _is_for(dream.id, _payload(r))}
        assert ours == wanted, ours
        completed = next(
            _payload(r) for r in requests if r["status"] == 200 and _payload(r)["type"] == "dream.completed"
            and _is_for(dream.id, _payload(r))
        )
        assert completed["data"]["dream"]["status"] == "completed", completed
    finally:
        server.raw("DELETE", f"/v1/webhooks/{hook_id}")
        receiver.close()
