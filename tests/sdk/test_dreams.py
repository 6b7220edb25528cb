"""`client.beta.dreams`: create → completed with outputs (the output store read
through `client.beta.memory_stores`), dream's proposal review extension, list
(statuses, created_at, include_archived), cancel of a running dream, archive."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Dict, List

import anthropic
import pytest

from conftest import (
    NO_REVIEW,
    Server,
    subagent_sessions,
    claude_code_sessions,
    error_of,
    tau_bench_sessions,
    unique,
    wait_for_dream,
)

MODEL = "dream-local"


def dream_inputs(store_id: str, session_ids: List[str]) -> List[Dict[str, Any]]:
    return [
        {"type": "memory_store", "memory_store_id": store_id},
        {"type": "sessions", "session_ids": session_ids},
    ]


@pytest.fixture(scope="module")
def cc_dream(client: anthropic.Anthropic):
    """One dream over the 5 Claude Code sessions, from create to `completed`."""
    store = client.beta.memory_stores.create(name=unique("cc-input"), description="coding agent memory")
    client.beta.memory_stores.memories.create(
        store.id, path="/preferences/style.md", content="- Keep answers short.\n"
    )
    sessions = claude_code_sessions(client)
    created = client.beta.dreams.create(
        inputs=dream_inputs(store.id, sessions),
        model=MODEL,
        instructions="Focus on tool errors that recur.",
    )
    done = wait_for_dream(client, created.id)
    return {"store": store, "sessions": sessions, "created": created, "done": done}


def test_dream_runs_to_completed_with_an_output_store(client: anthropic.Anthropic, cc_dream) -> None:
    created, done, store = cc_dream["created"], cc_dream["done"], cc_dream["store"]
    assert created.id.startswith("drm_") and created.type == "dream", created
    assert created.status in ("pending", "running"), f"create answers before the work: {created.status}"
    assert created.model.id == MODEL, "the model is echoed as an object"
    assert created.instructions == "Focus on tool errors that recur."
    assert created.ended_at is None
    assert {i.type for i in created.inputs} == {"memory_store", "sessions"}, created.inputs

    assert done.status == "completed", f"dream ended {done.status}: {done.error}"
    assert done.error is None
    assert done.ended_at is not None and done.ended_at >= done.created_at
    assert done.usage is not None
    assert len(done.outputs) == 1, f"one output store: {done.outputs}"
    out_id = done.outputs[0].memory_store_id
    assert out_id.startswith("memstore_") and out_id != store.id, "create_new writes to a new store"

    # The output store is an ordinary store, readable through the SDK.
    out = client.beta.memory_stores.retrieve(out_id)
    assert out.id == out_id
    copied = {m.path: m for m in client.beta.memory_stores.memories.list(out_id, view="full")}
    assert "/preferences/style.md" in copied, f"a create_new output store starts as a copy of the input: {list(copied)}"
    assert copied["/preferences/style.md"].content == "- Keep answers short.\n"
    assert out_id in {s.id for s in client.beta.memory_stores.list(limit=100)}


def test_review_applies_the_proposal_to_the_output_store(server: Server, client: anthropic.Anthropic, cc_dream) -> None:
    done, store = cc_dream["done"], cc_dream["store"]
    out_id = done.outputs[0].memory_store_id
    input_versions = [v.id for v in client.beta.memory_stores.memory_versions.list(store.id)]

    proposal = client.get(f"/v1/dreams/{done.id}/proposal", cast_to=object)
    assert isinstance(proposal, dict) and proposal.get("changes"), (
        f"5 Claude Code sessions with recurring tool errors should yield proposed lessons: {str(proposal)[:1500]}"
    )
    changes = proposal["changes"]
    # A dream reads the sessions it is given and their subagents.
    subagents = subagent_sessions(client, cc_dream["sessions"])
    assert subagents, "the Claude Code sessions have subagent sessions (include_subagents=true)"
    readable = set(cc_dream["sessions"]) | set(subagents)
    for change in changes:
        assert change.get("justification"), change
        assert change.get("evidence"), f"every change cites evidence: {change}"
        for ev in change["evidence"]:
            assert ev["session_id"] in readable, f"evidence cites an input session or its subagent: {ev}"
    before = {m.path for m in client.beta.memory_stores.memories.list(out_id, limit=100)}

    # A key without proposals:review cannot approve (403), and nothing is applied.
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        server.client(NO_REVIEW).post(f"/v1/dreams/{done.id}/proposal/approve", body={}, cast_to=object)
    err = error_of(exc.value)
    assert exc.value.status_code == 403 and err["type"] == "permission_error", err
    assert "proposals:review" in err["message"], f"the 403 names the missing scope: {err}"
    assert {m.path for m in client.beta.memory_stores.memories.list(out_id, limit=100)} == before

    report = client.post(f"/v1/dreams/{done.id}/proposal/approve", body={}, cast_to=object)
    assert isinstance(report, dict) and report.get("applied"), f"approve applies the changes: {report}"
    assert not report.get("stale"), f"nothing moved, so nothing is stale: {report}"

    memories = list(client.beta.memory_stores.memories.list(out_id, limit=100, view="full"))
    assert memories, "the approved lessons are memories in the output store"
    by_path = {m.path: m.content or "" for m in memories}
    for change in changes:
        if change["id"] not in report["applied"]:
            continue
        assert change["path"] in by_path, f"applied change {change['id']} wrote {change['path']}: {list(by_path)}"
        added = [
            line
            for line in (change.get("after") or "").splitlines()
            if line.strip() and line not in (change.get("before") or "").splitlines()
        ]
        if change.get("op") == "add" and added:
            assert any(line in by_path[change["path"]] for line in added), (
                f"applied change {change['id']} added {added[:2]} to {change['path']}"
            )
    created_versions = list(client.beta.memory_stores.memory_versions.list(out_id, limit=100))
    assert any(v.operation in ("created", "modified") for v in created_versions), created_versions
    for v in report.get("versions", []):
        got = client.beta.memory_stores.memory_versions.retrieve(v["id"], memory_store_id=out_id)
        assert got.content, f"each applied version is readable: {v['id']}"

    # The input store is never touched by a create_new dream.
    assert [v.id for v in client.beta.memory_stores.memory_versions.list(store.id)] == input_versions

    again = client.get(f"/v1/dreams/{done.id}/proposal", cast_to=object)
    statuses = {c["id"]: (c.get("review") or {}).get("status") for c in again["changes"]}
    assert all(statuses[cid] == "applied" for cid in report["applied"]), statuses


def test_bad_requests_say_what_is_wrong(client: anthropic.Anthropic) -> None:
    store = client.beta.memory_stores.create(name=unique("bad-dreams"))
    sessions = tau_bench_sessions(client)[:3]

    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.create(inputs=dream_inputs(store.id, sessions), model="claude-opus-4-1")
    err = error_of(exc.value)
    assert exc.value.status_code == 400 and err["type"] == "invalid_request_error", err
    assert "claude-opus-4-1" in err["message"] and MODEL in err["message"], (
        f"the message names the refused model and the one to use: {err}"
    )

    # The object form of the model is accepted.
    ok = client.beta.dreams.create(
        inputs=dream_inputs(store.id, sessions), model={"id": MODEL, "speed": "standard"}
    )
    assert ok.model.id == MODEL

    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.create(inputs=[{"type": "memory_store", "memory_store_id": store.id}], model=MODEL)
    assert "sessions" in error_of(exc.value)["message"], exc.value.body

    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.create(inputs=dream_inputs(store.id, tau_bench_sessions(client)[:101]), model=MODEL)
    assert "100" in error_of(exc.value)["message"], f"more than 100 sessions: {exc.value.body}"

    with pytest.raises(anthropic.APIStatusError) as exc:
        client.beta.dreams.create(inputs=dream_inputs("memstore_doesnotexist0000000000", sessions), model=MODEL)
    assert exc.value.status_code in (400, 404), exc.value
    assert "memstore_doesnotexist0000000000" in error_of(exc.value)["message"]

    with pytest.raises(anthropic.NotFoundError):
        client.beta.dreams.retrieve("drm_doesnotexist000000000000")
    wait_for_dream(client, ok.id)


def test_output_behavior_objects(client: anthropic.Anthropic) -> None:
    """The SDK sends `output_behavior` as an object (BetaOutputBehaviorParam)."""
    store = client.beta.memory_stores.create(name=unique("update-existing"))
    sessions = tau_bench_sessions(client)[110:112]
    default = client.beta.dreams.create(inputs=dream_inputs(store.id, sessions), model=MODEL)
    wait_for_dream(client, default.id)
    assert getattr(default.output_behavior, "type", None) == "create_new", (
        "output_behavior defaults to create_new and is an object ({'type': 'create_new'}, SDK "
        f"BetaOutputBehavior), got {default.output_behavior!r}"
    )
    explicit_new = client.beta.dreams.create(
        inputs=dream_inputs(store.id, sessions), model=MODEL, output_behavior={"type": "create_new"}
    )
    assert getattr(explicit_new.output_behavior, "type", None) == "create_new", explicit_new.output_behavior
    in_place = client.beta.dreams.create(
        inputs=dream_inputs(store.id, sessions),
        model=MODEL,
        output_behavior={"type": "update_existing", "memory_store_id": store.id},
    )
    assert getattr(in_place.output_behavior, "type", None) == "update_existing", in_place.output_behavior
    assert getattr(in_place.output_behavior, "memory_store_id", None) == store.id, in_place.output_behavior
    done = wait_for_dream(client, in_place.id)
    assert done.status == "completed", done.error
    assert [o.memory_store_id for o in done.outputs] == [store.id], "update_existing writes to the input store"
    wait_for_dream(client, explicit_new.id)

    other = client.beta.memory_stores.create(name=unique("not-the-input"))
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.create(
            inputs=dream_inputs(store.id, sessions),
            model=MODEL,
            output_behavior={"type": "update_existing", "memory_store_id": other.id},
        )
    assert "memory_store_id" in error_of(exc.value)["message"], exc.value.body


def test_cancel_a_running_dream(client: anthropic.Anthropic) -> None:
    store = client.beta.memory_stores.create(name=unique("cancel"))
    # 100 sessions at 300 ms each keep the dream running for about 30 s.
    sessions = tau_bench_sessions(client)[:100]
    dream = client.beta.dreams.create(inputs=dream_inputs(store.id, sessions), model=MODEL)
    running = wait_for_dream(client, dream.id, statuses=("running",), timeout=20)
    assert running.status == "running" and running.ended_at is None

    # A running dream cannot be archived: cancel it first.
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.archive(dream.id)
    assert "cancel" in error_of(exc.value)["message"], exc.value.body

    canceled = client.beta.dreams.cancel(dream.id)
    assert canceled.status == "canceled", f"cancel of a running dream answers canceled: {canceled.status}"
    assert canceled.ended_at is not None, "a canceled dream has ended_at"

    # It stays canceled (the job stops at its next check), and canceling again is a no-op.
    time.sleep(1.5)
    later = client.beta.dreams.retrieve(dream.id)
    assert later.status == "canceled" and later.ended_at == canceled.ended_at, later
    assert client.beta.dreams.cancel(dream.id).status == "canceled"
    assert dream.id in {d.id for d in client.beta.dreams.list(statuses=["canceled"], limit=100)}

    # Archive works once it has ended.
    assert client.beta.dreams.archive(dream.id).archived_at is not None


def test_cancel_of_a_completed_dream_is_refused(client: anthropic.Anthropic, cc_dream) -> None:
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.cancel(cc_dream["done"].id)
    err = error_of(exc.value)
    assert "completed" in err["message"], err


def test_list_filters_and_archive(client: anthropic.Anthropic) -> None:
    store = client.beta.memory_stores.create(name=unique("list-dreams"))
    sessions = tau_bench_sessions(client)[100:103]
    a = client.beta.dreams.create(inputs=dream_inputs(store.id, sessions), model=MODEL)
    b = client.beta.dreams.create(inputs=dream_inputs(store.id, sessions), model=MODEL)
    a, b = wait_for_dream(client, a.id), wait_for_dream(client, b.id)
    assert a.status == b.status == "completed", (a.status, a.error, b.status, b.error)

    listed = list(client.beta.dreams.list(limit=100))
    ids = [d.id for d in listed]
    assert a.id in ids and b.id in ids
    assert ids.index(b.id) < ids.index(a.id), "newest first"
    created = [d.created_at for d in listed]
    assert created == sorted(created, reverse=True)

    completed = list(client.beta.dreams.list(statuses=["completed"], limit=100))
    assert completed and all(d.status == "completed" for d in completed)
    assert {a.id, b.id} <= {d.id for d in completed}
    assert not {a.id, b.id} & {d.id for d in client.beta.dreams.list(statuses=["failed", "canceled"])}
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.dreams.list(statuses=["sleeping"])  # type: ignore[list-item]
    assert "sleeping" in error_of(exc.value)["message"]

    # created_at[gt] / [lt] are exclusive.
    window = {
        d.id
        for d in client.beta.dreams.list(
            created_at_gt=a.created_at - timedelta(milliseconds=1),
            created_at_lt=b.created_at + timedelta(milliseconds=1),
            limit=100,
        )
    }
    assert {a.id, b.id} <= window, window
    assert a.id not in {d.id for d in client.beta.dreams.list(created_at_gt=a.created_at, limit=100)}
    assert b.id not in {d.id for d in client.beta.dreams.list(created_at_lt=b.created_at, limit=100)}

    # Pages of 1.
    page = client.beta.dreams.list(limit=1, created_at_gt=a.created_at - timedelta(milliseconds=1))
    assert len(page.data) == 1 and page.has_next_page()
    assert page.get_next_page().data[0].id != page.data[0].id

    # Archive: hidden by default, listed with include_archived, still retrievable.
    archived = client.beta.dreams.archive(a.id)
    assert archived.archived_at is not None and archived.status == "completed"
    assert client.beta.dreams.archive(a.id).archived_at == archived.archived_at, "archiving twice is a no-op"
    assert a.id not in {d.id for d in client.beta.dreams.list(limit=100)}, "archived dreams are hidden"
    assert a.id in {d.id for d in client.beta.dreams.list(include_archived=True, limit=100)}
    assert client.beta.dreams.retrieve(a.id).archived_at is not None
