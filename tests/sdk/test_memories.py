"""`client.beta.memory_stores.memories`: create, retrieve (basic/full), update
(content, path, precondition), list (path_prefix, depth, pages), delete
(expected_content_sha256)."""

from __future__ import annotations

import hashlib

import anthropic
import pytest

from conftest import error_of, unique


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture()
def store(client: anthropic.Anthropic):
    store = client.beta.memory_stores.create(name=unique("memories"))
    yield store
    client.beta.memory_stores.delete(store.id)


def test_create_and_retrieve_views(client: anthropic.Anthropic, store) -> None:
    content = "- Run `mix format` before committing: the pre-commit hook rejects unformatted code.\n"
    mem = client.beta.memory_stores.memories.create(store.id, path="/coding/elixir.md", content=content)
    assert mem.id.startswith("mem_"), mem
    assert mem.type == "memory"
    assert mem.memory_store_id == store.id
    assert mem.path == "/coding/elixir.md"
    assert mem.content is None, "create answers with view=basic by default (content null)"
    assert mem.content_sha256 == sha(content), "content_sha256 is the SHA-256 of the UTF-8 bytes"
    assert mem.content_size_bytes == len(content.encode())
    assert mem.memory_version_id.startswith("memver_")

    full = client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id)
    assert full.content == content, "retrieve defaults to view=full"
    basic = client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id, view="basic")
    assert basic.content is None and basic.content_sha256 == sha(content)
    explicit = client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id, view="full")
    assert explicit.content == content

    created_full = client.beta.memory_stores.memories.create(store.id, path="/b.md", content="b", view="full")
    assert created_full.content == "b", "create with view=full returns the content"

    # The same path twice is a conflict; a bad path is a 400 naming the rule.
    with pytest.raises(anthropic.APIStatusError) as exc:
        client.beta.memory_stores.memories.create(store.id, path="/coding/elixir.md", content="again")
    assert exc.value.status_code in (400, 409), exc.value
    assert "/coding/elixir.md" in error_of(exc.value)["message"]
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.memories.create(store.id, path="no-leading-slash.md", content="x")
    assert "/" in error_of(exc.value)["message"]

    with pytest.raises(anthropic.NotFoundError):
        client.beta.memory_stores.memories.retrieve("mem_doesnotexist0000000000", memory_store_id=store.id)


def test_update_content_path_and_precondition(client: anthropic.Anthropic, store) -> None:
    mem = client.beta.memory_stores.memories.create(store.id, path="/prefs/format.md", content="v1")
    original_version = mem.memory_version_id

    updated = client.beta.memory_stores.memories.update(mem.id, memory_store_id=store.id, content="v2")
    assert updated.id == mem.id
    assert updated.content is None, "update answers with view=basic by default"
    assert updated.content_sha256 == sha("v2")
    assert updated.memory_version_id != original_version, "every change is a new memory version"

    # Rename: the id stays, the path changes.
    renamed = client.beta.memory_stores.memories.update(
        mem.id, memory_store_id=store.id, path="/prefs/formatting.md", view="full"
    )
    assert renamed.id == mem.id and renamed.path == "/prefs/formatting.md"
    assert renamed.content == "v2", "a rename-only update keeps the content"

    # A precondition on the current hash applies...
    ok = client.beta.memory_stores.memories.update(
        mem.id,
        memory_store_id=store.id,
        content="v3",
        precondition={"type": "content_sha256", "content_sha256": sha("v2")},
    )
    assert ok.content_sha256 == sha("v3")

    # ...and a stale one is a 409 that changes nothing.
    with pytest.raises(anthropic.ConflictError) as exc:
        client.beta.memory_stores.memories.update(
            mem.id,
            memory_store_id=store.id,
            content="lost update",
            precondition={"type": "content_sha256", "content_sha256": sha("v2")},
        )
    assert exc.value.status_code == 409
    err = error_of(exc.value)
    assert err["type"] == "memory_precondition_failed_error", f"precondition failure type: {err}"
    assert exc.value.response.headers.get("x-should-retry") == "false", (
        "the SDK retries 409s unless told not to; a failed precondition will not pass on retry"
    )
    after = client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id)
    assert after.content == "v3", "a failed precondition must not change the memory"


def test_list_prefix_depth_and_pages(client: anthropic.Anthropic, store) -> None:
    paths = [f"/notes/n{i:02d}.md" for i in range(7)] + [
        "/notes/deep/a.md",
        "/notes/deep/b.md",
        "/notes-archive/old.md",
        "/top.md",
    ]
    for p in paths:
        client.beta.memory_stores.memories.create(store.id, path=p, content=f"content of {p}")

    everything = list(client.beta.memory_stores.memories.list(store.id, limit=100))
    assert sorted(m.path for m in everything) == sorted(paths), "depth 0 (default) lists every memory"
    assert all(m.type == "memory" and m.content is None for m in everything), "list defaults to view=basic"

    # path_prefix matches whole segments: /notes/ but not /notes-archive/.
    notes = [m.path for m in client.beta.memory_stores.memories.list(store.id, path_prefix="/notes/", limit=100)]
    assert sorted(notes) == sorted(p for p in paths if p.startswith("/notes/")), notes

    # depth=1: direct children, deeper memories rolled up into one memory_prefix item.
    top = client.beta.memory_stores.memories.list(store.id, path_prefix="/notes/", depth=1, limit=100)
    kinds = {(item.type, item.path) for item in top}
    assert ("memory_prefix", "/notes/deep/") in kinds, f"deeper memories roll up into a prefix: {kinds}"
    assert not any(item.path.startswith("/notes/deep/") and item.type == "memory" for item in top), kinds
    assert sum(1 for t, _ in kinds if t == "memory") == 7, kinds
    root = {(i.type, i.path) for i in client.beta.memory_stores.memories.list(store.id, depth=1)}
    assert root == {
        ("memory_prefix", "/notes/"),
        ("memory_prefix", "/notes-archive/"),
        ("memory", "/top.md"),
    }, root

    # Pages of 3: the auto-pager walks them all, each memory exactly once.
    first = client.beta.memory_stores.memories.list(store.id, limit=3)
    assert len(first.data) == 3 and first.has_next_page(), f"11 memories in pages of 3: {first}"
    walked = [m.path for m in first]  # iterating a page follows next_page
    assert sorted(walked) == sorted(paths), f"auto-pager: {walked}"

    # The same by hand with has_next_page()/get_next_page().
    page, pages, by_hand = first, 1, [m.path for m in first.data]
    while page.has_next_page():
        page = page.get_next_page()
        pages += 1
        assert 0 < len(page.data) <= 3, page
        by_hand.extend(m.path for m in page.data)
    assert pages == 4, f"11 memories at limit 3 make 4 pages, got {pages}"
    assert by_hand == walked, "manual paging and the auto-pager see the same order"
    assert len(set(by_hand)) == len(by_hand), "no memory appears on two pages"

    full = client.beta.memory_stores.memories.list(store.id, path_prefix="/notes/deep/", view="full")
    assert {m.content for m in full} == {"content of /notes/deep/a.md", "content of /notes/deep/b.md"}

    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.memories.list(store.id, path_prefix="/notes")
    assert "/" in error_of(exc.value)["message"], "a prefix must end with /"


def test_delete_with_expected_sha(client: anthropic.Anthropic, store) -> None:
    mem = client.beta.memory_stores.memories.create(store.id, path="/tmp/scratch.md", content="scratch")

    with pytest.raises(anthropic.ConflictError) as exc:
        client.beta.memory_stores.memories.delete(
            mem.id, memory_store_id=store.id, expected_content_sha256=sha("something else")
        )
    err = error_of(exc.value)
    assert err["type"] == "memory_precondition_failed_error", err
    assert client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id).content == "scratch", (
        "a mismatched expected_content_sha256 deletes nothing"
    )

    deleted = client.beta.memory_stores.memories.delete(
        mem.id, memory_store_id=store.id, expected_content_sha256=sha("scratch")
    )
    assert deleted.id == mem.id and deleted.type == "memory_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.beta.memory_stores.memories.retrieve(mem.id, memory_store_id=store.id)

    other = client.beta.memory_stores.memories.create(store.id, path="/tmp/other.md", content="x")
    assert client.beta.memory_stores.memories.delete(other.id, memory_store_id=store.id).id == other.id


def test_async_client_and_async_pager(server) -> None:
    """AsyncAnthropic works the same way (one smoke test of its auto-pager)."""
    import asyncio

    async def main() -> None:
        async with anthropic.AsyncAnthropic(
            api_key=server.keys["admin"], base_url=server.url, max_retries=0
        ) as aclient:
            store = await aclient.beta.memory_stores.create(name=unique("async"))
            for i in range(5):
                await aclient.beta.memory_stores.memories.create(store.id, path=f"/m{i}.md", content=str(i))
            paths = [m.path async for m in aclient.beta.memory_stores.memories.list(store.id, limit=2)]
            assert sorted(paths) == [f"/m{i}.md" for i in range(5)], paths
            await aclient.beta.memory_stores.delete(store.id)

    asyncio.run(main())
