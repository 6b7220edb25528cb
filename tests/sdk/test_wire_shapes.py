"""Every response validates *strictly* against the SDK's pydantic models.

The SDK builds its models without validation (`construct`), so a missing required
field, a wrong type or an unknown enum value would pass unnoticed through the other
tests and break a user's code later. Here each raw JSON body (`with_raw_response`)
goes through `Model.model_validate`, which checks required fields, types, literals
and discriminated unions."""

from __future__ import annotations

import json
from typing import Any, Dict, List

import anthropic
import pydantic
import pytest
from anthropic.types.beta import BetaDream, BetaManagedAgentsDeletedMemoryStore, BetaManagedAgentsMemoryStore
from anthropic.types.beta.beta_managed_agents_session import BetaManagedAgentsSession
from anthropic.types.beta.memory_stores import (
    BetaManagedAgentsDeletedMemory,
    BetaManagedAgentsMemory,
    BetaManagedAgentsMemoryListItem,
    BetaManagedAgentsMemoryVersion,
)
from anthropic.types.beta.sessions import BetaManagedAgentsSessionEvent

from conftest import claude_code_sessions, tau_bench_sessions, unique, wait_for_dream


_adapters: Dict[int, pydantic.TypeAdapter] = {}


def validate(tp: Any, raw: Any, what: str) -> None:
    body = json.loads(raw.http_response.content) if hasattr(raw, "http_response") else raw
    if id(tp) not in _adapters:
        _adapters[id(tp)] = pydantic.TypeAdapter(tp)
    adapter = _adapters[id(tp)]
    try:
        adapter.validate_python(body)
    except pydantic.ValidationError as err:
        raise AssertionError(f"{what} does not validate as the SDK's {tp}:\n{err}\nbody: {json.dumps(body)[:1500]}")


def validate_page(tp: Any, raw: Any, what: str) -> List[Any]:
    body = json.loads(raw.http_response.content)
    assert set(body) >= {"data", "next_page"}, f"{what}: a page has data and next_page: {list(body)}"
    assert body["next_page"] is None or isinstance(body["next_page"], str), body["next_page"]
    for i, item in enumerate(body["data"]):
        validate(tp, item, f"{what}[{i}]")
    return body["data"]


@pytest.fixture()
def store(client: anthropic.Anthropic):
    store = client.beta.memory_stores.create(name=unique("shapes"))
    yield store
    client.beta.memory_stores.delete(store.id)


def test_memory_store_shapes(client: anthropic.Anthropic) -> None:
    raw = client.beta.memory_stores.with_raw_response
    created = raw.create(name=unique("shapes"), metadata={"k": "v"})
    validate(BetaManagedAgentsMemoryStore, created, "memory_stores.create")
    store = created.parse()
    validate(BetaManagedAgentsMemoryStore, raw.retrieve(store.id), "memory_stores.retrieve")
    validate(BetaManagedAgentsMemoryStore, raw.update(store.id, description="d"), "memory_stores.update")
    validate_page(BetaManagedAgentsMemoryStore, raw.list(limit=3), "memory_stores.list")
    validate(BetaManagedAgentsMemoryStore, raw.archive(store.id), "memory_stores.archive")
    validate(BetaManagedAgentsDeletedMemoryStore, raw.delete(store.id), "memory_stores.delete")


def test_memory_and_version_shapes(client: anthropic.Anthropic, store) -> None:
    mem_raw = client.beta.memory_stores.memories.with_raw_response
    created = mem_raw.create(store.id, path="/dir/a.md", content="alpha")
    validate(BetaManagedAgentsMemory, created, "memories.create")
    mem = created.parse()
    mem_raw.create(store.id, path="/dir/sub/b.md", content="beta")
    validate(BetaManagedAgentsMemory, mem_raw.retrieve(mem.id, memory_store_id=store.id), "memories.retrieve")
    validate(
        BetaManagedAgentsMemory,
        mem_raw.update(mem.id, memory_store_id=store.id, content="alpha2"),
        "memories.update",
    )
    items = validate_page(
        BetaManagedAgentsMemoryListItem, mem_raw.list(store.id, depth=1, path_prefix="/dir/"), "memories.list"
    )
    assert {i["type"] for i in items} == {"memory", "memory_prefix"}, items

    ver_raw = client.beta.memory_stores.memory_versions.with_raw_response
    versions = validate_page(BetaManagedAgentsMemoryVersion, ver_raw.list(store.id), "memory_versions.list")
    validate(
        BetaManagedAgentsMemoryVersion,
        ver_raw.retrieve(versions[-1]["id"], memory_store_id=store.id),
        "memory_versions.retrieve",
    )
    validate(
        BetaManagedAgentsMemoryVersion,
        ver_raw.redact(versions[-1]["id"], memory_store_id=store.id),
        "memory_versions.redact",
    )
    validate(BetaManagedAgentsDeletedMemory, mem_raw.delete(mem.id, memory_store_id=store.id), "memories.delete")
    deleted = validate_page(
        BetaManagedAgentsMemoryVersion, ver_raw.list(store.id, operation="deleted"), "memory_versions.list(deleted)"
    )
    assert len(deleted) == 1


def test_dream_shapes(client: anthropic.Anthropic, store) -> None:
    dreams_raw = client.beta.dreams.with_raw_response
    created = dreams_raw.create(
        inputs=[
            {"type": "memory_store", "memory_store_id": store.id},
            {"type": "sessions", "session_ids": tau_bench_sessions(client)[150:152]},
        ],
        model="dream-local",
    )
    dream = wait_for_dream(client, created.parse().id)
    validate(BetaDream, dreams_raw.retrieve(dream.id), "dreams.retrieve (completed)")
    validate(BetaDream, created, "dreams.create")
    validate_page(BetaDream, dreams_raw.list(limit=5), "dreams.list")
    validate(BetaDream, dreams_raw.archive(dream.id), "dreams.archive")


def test_session_shapes(client: anthropic.Anthropic) -> None:
    sess_raw = client.beta.sessions.with_raw_response
    assert validate_page(BetaManagedAgentsSession, sess_raw.list(limit=20), "sessions.list")
    cc = claude_code_sessions(client)[0]
    validate(BetaManagedAgentsSession, sess_raw.retrieve(cc), "sessions.retrieve")
    validate(BetaManagedAgentsSession, sess_raw.retrieve(tau_bench_sessions(client)[0]), "sessions.retrieve (tau)")


def test_every_event_of_every_claude_code_session_validates(client: anthropic.Anthropic) -> None:
    for sid in claude_code_sessions(client):
        page = client.beta.sessions.events.with_raw_response.list(sid, limit=100)
        while True:
            validate_page(BetaManagedAgentsSessionEvent, page, f"events of {sid}")
            parsed = page.parse()
            if not parsed.has_next_page():
                break
            page = client.beta.sessions.events.with_raw_response.list(sid, limit=100, page=parsed.next_page)


def test_a_canceled_dream_validates(client: anthropic.Anthropic, store) -> None:
    d = client.beta.dreams.create(
        inputs=[
            {"type": "memory_store", "memory_store_id": store.id},
            {"type": "sessions", "session_ids": tau_bench_sessions(client)[:20]},
        ],
        model="dream-local",
    )
    validate(BetaDream, client.beta.dreams.with_raw_response.cancel(d.id), "dreams.cancel")
    assert client.beta.dreams.retrieve(d.id).status == "canceled"
