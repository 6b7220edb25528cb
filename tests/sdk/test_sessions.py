"""`client.beta.sessions.{list, retrieve}` and `client.beta.sessions.events.list` on
sessions imported from real transcripts (5 Claude Code sessions with their
subagents, 200 tau-bench airline runs)."""

from __future__ import annotations

import anthropic
import pytest

from conftest import all_sessions, claude_code_sessions, error_of, session_kind, tau_bench_sessions


def test_list_and_retrieve(client: anthropic.Anthropic) -> None:
    sessions = all_sessions(client)  # auto-pager over pages of 100
    assert len(sessions) >= 205, f"5 Claude Code + 200 tau-bench sessions imported, listed {len(sessions)}"
    assert len({s.id for s in sessions}) == len(sessions), "no session on two pages"
    assert all(s.id.startswith("sesn_") and s.type == "session" for s in sessions)
    kinds = {session_kind(s) for s in sessions}
    assert {"claude_code", "tau_bench"} <= kinds, kinds
    tau = tau_bench_sessions(client)
    cc = claude_code_sessions(client)

    # Newest first by default; order=asc reverses.
    desc = [s.created_at for s in sessions]
    assert desc == sorted(desc, reverse=True), "sessions.list defaults to newest first"
    first_asc = client.beta.sessions.list(order="asc", limit=5)
    assert [s.id for s in first_asc.data] == [s.id for s in sessions[::-1][:5]], "order=asc is the reverse"

    # Manual paging.
    page = client.beta.sessions.list(limit=60)
    assert len(page.data) == 60 and page.has_next_page(), page
    second = page.get_next_page()
    assert not {s.id for s in page.data} & {s.id for s in second.data}, "pages do not overlap"

    # agent_id filters on the agent's name; tau-bench names it after the run.
    one = client.beta.sessions.retrieve(tau[0])
    assert one.id == tau[0] and one.type == "session"
    assert one.status == "terminated", "an imported session has ended"
    assert one.agent.name, f"a tau-bench session names its agent: {one.agent}"
    by_agent = list(client.beta.sessions.list(agent_id=one.agent.id, limit=100))
    assert {s.id for s in by_agent} == set(tau), (
        f"agent_id={one.agent.id!r} should list exactly the 200 tau-bench sessions, got {len(by_agent)}"
    )

    cc_one = client.beta.sessions.retrieve(cc[0])
    assert cc_one.id == cc[0] and isinstance(cc_one.metadata, dict)

    # created_at window around one session.
    around = client.beta.sessions.list(created_at_gte=one.created_at, created_at_lte=one.created_at, limit=100)
    assert one.id in {s.id for s in around}, "created_at[gte]=[lte]=its created_at includes it"

    with pytest.raises(anthropic.NotFoundError) as exc:
        client.beta.sessions.retrieve("sesn_doesnotexist00000000000")
    assert error_of(exc.value)["type"] == "not_found_error"


def test_events_of_a_claude_code_session(client: anthropic.Anthropic) -> None:
    cc = claude_code_sessions(client)
    # The session with the most events that has a failed tool call.
    best = None
    for sid in cc:
        events = list(client.beta.sessions.events.list(sid, limit=100))
        errors = [e for e in events if e.type == "agent.tool_result" and getattr(e, "is_error", False)]
        if errors and (best is None or len(events) > len(best[1])):
            best = (sid, events, errors)
    assert best is not None, "the Claude Code sessions contain failed tool calls (is_error tool results)"
    sid, events, errors = best
    assert len(events) > 20, f"a real session has many events, got {len(events)}"
    assert len({e.id for e in events}) == len(events), "no event twice across pages"
    types = {e.type for e in events}
    assert {"user.message", "agent.tool_use", "agent.tool_result"} <= types, types
    assert all(type(e).__module__.startswith("anthropic.types") for e in events), (
        "every event parses into the SDK's event models"
    )
    # Imported events come in transcript order (Claude Code's own timestamps are not
    # monotonic: a tool result can be stamped before its tool use), and every tool
    # result follows the tool use it answers.
    indexes = [(e.model_extra or {}).get("index") for e in events]
    if all(isinstance(i, int) for i in indexes):
        assert indexes == sorted(indexes), "events default to transcript order (dream's `index`)"
    position = {e.id: i for i, e in enumerate(events)}
    for i, e in enumerate(events):
        if e.type == "agent.tool_result":
            assert position.get(e.tool_use_id, i) < i, f"tool result {e.id} before its tool use {e.tool_use_id}"

    # Pages by hand.
    page = client.beta.sessions.events.list(sid, limit=10)
    assert len(page.data) == 10 and page.has_next_page()
    nxt = page.get_next_page()
    assert [e.id for e in page.data + nxt.data] == [e.id for e in events[:20]]

    # types filter and order=desc.
    uses = list(client.beta.sessions.events.list(sid, types=["agent.tool_use"], limit=100))
    assert uses and all(e.type == "agent.tool_use" for e in uses), {e.type for e in uses}
    assert len(uses) == sum(1 for e in events if e.type == "agent.tool_use")
    desc = client.beta.sessions.events.list(sid, order="desc", limit=5)
    assert [e.id for e in desc.data] == [e.id for e in events[::-1][:5]], "order=desc starts at the end"

    with pytest.raises(anthropic.NotFoundError):
        client.beta.sessions.events.list("sesn_doesnotexist00000000000")
