"""`client.beta.memory_stores`: create, retrieve, update, list, archive, delete."""

from __future__ import annotations

from datetime import timedelta

import anthropic
import pytest

from conftest import error_of, unique


def test_store_lifecycle(client: anthropic.Anthropic) -> None:
    name = unique("lifecycle")
    store = client.beta.memory_stores.create(
        name=name, description="what the support agent knows", metadata={"team": "support", "env": "test"}
    )
    assert store.id.startswith("memstore_"), store
    assert store.type == "memory_store"
    assert store.name == name
    assert store.description == "what the support agent knows"
    assert store.metadata == {"team": "support", "env": "test"}
    assert store.archived_at is None

    got = client.beta.memory_stores.retrieve(store.id)
    assert got.id == store.id and got.name == name and got.created_at == store.created_at

    # Metadata is a patch: a string sets, null removes, an absent key is kept.
    updated = client.beta.memory_stores.update(
        store.id, name=name + "-renamed", description="", metadata={"env": None, "owner": "ops"}
    )
    assert updated.name == name + "-renamed"
    assert updated.description in ("", None), f"an empty description clears it: {updated.description!r}"
    assert updated.metadata == {"team": "support", "owner": "ops"}, updated.metadata
    assert updated.updated_at >= store.updated_at
    assert client.beta.memory_stores.retrieve(store.id).name == name + "-renamed"

    deleted = client.beta.memory_stores.delete(store.id)
    assert deleted.id == store.id
    assert deleted.type == "memory_store_deleted"
    with pytest.raises(anthropic.NotFoundError) as exc:
        client.beta.memory_stores.retrieve(store.id)
    err = error_of(exc.value)
    assert err["type"] == "not_found_error"
    assert store.id in err["message"], f"the 404 should name the store: {err}"


def test_archive_hides_store_from_default_list(client: anthropic.Anthropic) -> None:
    kept = client.beta.memory_stores.create(name=unique("kept"))
    archived = client.beta.memory_stores.create(name=unique("archived"))

    result = client.beta.memory_stores.archive(archived.id)
    assert result.id == archived.id
    assert result.archived_at is not None, f"archive should set archived_at: {result}"
    again = client.beta.memory_stores.archive(archived.id)
    assert again.archived_at == result.archived_at, "archiving twice returns the store unchanged"

    default_ids = {s.id for s in client.beta.memory_stores.list(limit=100)}
    assert kept.id in default_ids
    assert archived.id not in default_ids, "archived stores are left out of the default list"
    all_ids = {s.id for s in client.beta.memory_stores.list(limit=100, include_archived=True)}
    assert {kept.id, archived.id} <= all_ids, "include_archived=True lists archived stores too"

    # An archived store is still retrievable, but cannot be updated (400).
    assert client.beta.memory_stores.retrieve(archived.id).archived_at is not None
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.update(archived.id, name="nope")
    assert "archived" in error_of(exc.value)["message"], exc.value.body


def test_list_pages_and_created_at_filters(client: anthropic.Anthropic) -> None:
    made = [client.beta.memory_stores.create(name=unique(f"page-{i}")) for i in range(5)]
    first, last = made[0], made[-1]

    window = client.beta.memory_stores.list(
        created_at_gte=first.created_at, created_at_lte=last.created_at, limit=2
    )
    assert len(window.data) == 2 and window.has_next_page(), window
    ids = [s.id for s in window]  # the auto-pager follows next_page
    assert sorted(ids) == sorted(s.id for s in made), (
        f"created_at[gte]/[lte] spanning exactly the five new stores should list them all once: {ids}"
    )

    # String times work as well as datetimes (the SDK sends both as RFC 3339).
    after = client.beta.memory_stores.list(created_at_gte=(last.created_at + timedelta(seconds=1)).isoformat())
    assert not any(s.id in {m.id for m in made} for s in after), "created_at[gte] after them lists none of them"


def test_create_validates_name(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.create(name="")
    err = error_of(exc.value)
    assert exc.value.status_code == 400
    assert err["type"] == "invalid_request_error"
    assert "name" in err["message"], f"the message should name the field: {err}"
