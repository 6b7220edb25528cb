"""Authentication (401), scopes (403) and Anthropic-shaped error bodies, as the SDK
sees them."""

from __future__ import annotations

import anthropic
import pytest

from conftest import ADMIN, READER, Server, error_of, unique


def test_no_key_is_401(server: Server) -> None:
    resp = server.raw("GET", "/v1/memory_stores", key=None)
    assert resp.status == 401, f"a server with keys refuses a request without one: {resp.status} {resp.content!r}"
    body = resp.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error", body
    assert "x-api-key" in body["error"]["message"], f"the message says where the key goes: {body}"
    assert resp.headers.get("request-id", "").startswith("req_"), resp.headers

    # /health needs no key.
    assert server.raw("GET", "/health", key=None).status == 200


def test_bad_key_is_401_through_the_sdk(server: Server) -> None:
    bad = server.client("dream_sk_" + "A" * 43)
    with pytest.raises(anthropic.AuthenticationError) as exc:
        bad.beta.memory_stores.list()
    err = error_of(exc.value)
    assert exc.value.status_code == 401 and err["type"] == "authentication_error", err
    assert exc.value.request_id and exc.value.request_id.startswith("req_"), "the SDK reads request-id"


def test_sdk_auth_header_is_accepted(server: Server) -> None:
    # SDK 2.10.0 sends the key as `Authorization: Bearer …`; x-api-key works as well.
    assert server.raw("GET", "/v1/memory_stores", key=ADMIN).status == 200
    bearer = server.raw(
        "GET", "/v1/memory_stores", key=None, headers={"authorization": f"Bearer {server.keys[ADMIN]}"}
    )
    assert bearer.status == 200, bearer.content


def test_missing_scope_is_403(server: Server, client: anthropic.Anthropic) -> None:
    reader = server.client(READER)
    store = client.beta.memory_stores.create(name=unique("scopes"))
    client.beta.memory_stores.memories.create(store.id, path="/a.md", content="a")

    # memory:read may read...
    assert [m.path for m in reader.beta.memory_stores.memories.list(store.id)] == ["/a.md"]
    assert reader.beta.memory_stores.retrieve(store.id).id == store.id

    # ...but not write.
    with pytest.raises(anthropic.PermissionDeniedError) as exc:
        reader.beta.memory_stores.memories.create(store.id, path="/b.md", content="b")
    err = error_of(exc.value)
    assert exc.value.status_code == 403 and err["type"] == "permission_error", err
    assert "memory:write" in err["message"], f"the 403 names the missing scope: {err}"
    assert [m.path for m in client.beta.memory_stores.memories.list(store.id)] == ["/a.md"]

    # Nor read sessions or dreams.
    with pytest.raises(anthropic.PermissionDeniedError):
        reader.beta.sessions.list()
    with pytest.raises(anthropic.PermissionDeniedError):
        reader.beta.dreams.list()


def test_error_shape_of_a_bad_request(client: anthropic.Anthropic) -> None:
    store = client.beta.memory_stores.create(name=unique("errors"))
    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.memories.create(store.id, path="/a/../b.md", content="x")
    e = exc.value
    assert e.status_code == 400
    assert e.body["type"] == "error", e.body
    assert e.body["error"]["type"] == "invalid_request_error", e.body
    message = e.body["error"]["message"]
    assert ".." in message, f"the message names what is wrong with the path: {message!r}"
    assert str(e).startswith("Error code: 400"), str(e)

    with pytest.raises(anthropic.BadRequestError) as exc:
        client.beta.memory_stores.list(limit=1000)
    assert "limit" in error_of(exc.value)["message"]

    with pytest.raises(anthropic.NotFoundError) as exc:
        client.get("/v1/no_such_thing", cast_to=object)
    assert error_of(exc.value)["type"] == "not_found_error"


def test_malformed_bodies_are_400(server: Server) -> None:
    store = server.client(ADMIN).beta.memory_stores.create(name=unique("malformed"))
    path = f"/v1/memory_stores/{store.id}/memories"
    for body in ({"path": "/x.md", "content": 5}, {"path": "/x.md", "content": "x", "bogus": 1}, {"content": "x"}):
        resp = server.raw("POST", path, body=body)
        assert resp.status == 400, f"{body} → {resp.status} {resp.content!r}"
        err = resp.json()["error"]
        assert err["type"] == "invalid_request_error" and len(err["message"]) > 10, err
    not_json = server.raw("POST", path, body=None, headers={"content-type": "application/json"})
    assert not_json.status == 400, not_json.content


def test_open_server_accepts_any_key(open_server: Server) -> None:
    """With no key created the server runs open on loopback: the SDK (which always
    sends some key) works whatever the key."""
    assert open_server.raw("GET", "/v1/memory_stores", key=None).status == 200, "no key at all"
    # The SDK cannot send no key unless told to omit the header.
    keyless = open_server.client("unused", default_headers={"Authorization": anthropic.Omit()})
    assert keyless.beta.memory_stores.create(name=unique("open-keyless")).id.startswith("memstore_")

    sdk = open_server.client("anything-at-all")
    try:
        store = sdk.beta.memory_stores.create(name=unique("open"))
    except anthropic.AuthenticationError as err:
        raise AssertionError(
            "an open server (no API key created) should accept whatever key the SDK sends "
            f"(`Anthropic(api_key=\"anything\")` always sends one), got {err}"
        ) from None
    assert sdk.beta.memory_stores.retrieve(store.id).id == store.id
