"""`client.beta.memory_stores.memory_versions`: list (memory_id, operation,
created_at filters, pages), retrieve, redact."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import anthropic
import pytest

from conftest import ADMIN, READER, Server, error_of, unique


def test_history_filters_retrieve_and_redact(server: Server, client: anthropic.Anthropic) -> None:
    store = client.beta.memory_stores.create(name=unique("versions"))
    versions_api = client.beta.memory_stores.memory_versions
    try:
        mem = client.beta.memory_stores.memories.create(store.id, path="/facts/office.md", content="Office: Paris")
        client.beta.memory_stores.memories.update(mem.id, memory_store_id=store.id, content="Office: Lyon")
        secret = "Office: Lyon. Door code 4417"
        client.beta.memory_stores.memories.update(mem.id, memory_store_id=store.id, content=secret)
        other = client.beta.memory_stores.memories.create(store.id, path="/facts/other.md", content="other")
        client.beta.memory_stores.memories.delete(other.id, memory_store_id=store.id)

        history = list(versions_api.list(store.id, memory_id=mem.id))
        assert [v.operation for v in history] == ["modified", "modified", "created"], (
            f"a memory's history, newest first: {[(v.id, v.operation) for v in history]}"
        )
        assert all(v.type == "memory_version" and v.memory_id == mem.id for v in history)
        assert all(v.content is None for v in history), "list defaults to view=basic"
        assert history[0].content_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert history[-1].path == "/facts/office.md"
        assert history[0].created_by is not None, "the author is recorded"

        # The deleted memory keeps its versions, including the `deleted` one.
        gone = list(versions_api.list(store.id, memory_id=other.id))
        assert [v.operation for v in gone] == ["deleted", "created"], gone
        assert gone[0].content is None and gone[0].content_sha256 is None

        # operation filter across the store.
        created = list(versions_api.list(store.id, operation="created"))
        assert sorted(v.memory_id for v in created) == sorted([mem.id, other.id]), created
        modified = list(versions_api.list(store.id, operation="modified"))
        assert len(modified) == 2 and all(v.memory_id == mem.id for v in modified)
        deleted = list(versions_api.list(store.id, operation="deleted"))
        assert [v.memory_id for v in deleted] == [other.id]

        # The author is the admin key (api_actor); api_key_id filters on it.
        admin_id = server.key_ids[ADMIN]
        assert getattr(history[0].created_by, "type", None) == "api_actor", history[0].created_by
        assert getattr(history[0].created_by, "api_key_id", None) == admin_id, history[0].created_by
        assert len(list(versions_api.list(store.id, api_key_id=admin_id))) == 5
        assert list(versions_api.list(store.id, api_key_id=server.key_ids[READER])) == []

        # created_at filters are inclusive on both ends.
        every = list(versions_api.list(store.id))
        assert len(every) == 5, every
        newest, oldest = every[0], every[-1]
        assert newest.created_at >= oldest.created_at
        only_first = list(versions_api.list(store.id, created_at_lte=oldest.created_at))
        assert oldest.id in {v.id for v in only_first} and newest.id not in {v.id for v in only_first}, (
            f"created_at[lte]={oldest.created_at.isoformat()} should keep the first version only: {only_first}"
        )
        from_newest = list(versions_api.list(store.id, created_at_gte=newest.created_at))
        assert newest.id in {v.id for v in from_newest} and oldest.id not in {v.id for v in from_newest}
        later = list(versions_api.list(store.id, created_at_gte=newest.created_at + timedelta(seconds=5)))
        assert later == [], later

        # Pages of 2.
        page = versions_api.list(store.id, limit=2)
        assert len(page.data) == 2 and page.has_next_page()
        assert [v.id for v in page] == [v.id for v in every], "the auto-pager sees every version once, in order"

        # retrieve: full by default, basic on request.
        one = versions_api.retrieve(history[0].id, memory_store_id=store.id)
        assert one.id == history[0].id and one.content == secret, "retrieve defaults to view=full"
        basic = versions_api.retrieve(history[0].id, memory_store_id=store.id, view="basic")
        assert basic.content is None and basic.content_sha256 == one.content_sha256

        # Redact the version that leaked the door code (after a clean version replaced
        # it): content, path, hash and size go; the record stays.
        client.beta.memory_stores.memories.update(mem.id, memory_store_id=store.id, content="Office: Lyon")
        redacted = versions_api.redact(history[0].id, memory_store_id=store.id)
        assert redacted.id == history[0].id
        assert redacted.redacted_at is not None and redacted.redacted_by is not None, redacted
        assert redacted.content is None and redacted.path is None, redacted
        assert redacted.content_sha256 is None and redacted.content_size_bytes is None, redacted
        again = versions_api.retrieve(history[0].id, memory_store_id=store.id)
        assert again.redacted_at is not None and again.content is None, "redaction is permanent"
        assert again.created_by == history[0].created_by, "redacting does not change created_by"

        with pytest.raises(anthropic.NotFoundError) as exc:
            versions_api.retrieve("memver_doesnotexist000000000", memory_store_id=store.id)
        assert error_of(exc.value)["type"] == "not_found_error"
    finally:
        client.beta.memory_stores.delete(store.id)

