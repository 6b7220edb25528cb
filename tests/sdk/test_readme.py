"""The README's Python example (section "Server: `dream serve`"), run as written
against `dream serve`: only its key and base URL are this test server's."""

from __future__ import annotations

import contextlib
import io
import re

from conftest import ADMIN, REPO, Server


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("With the Python SDK:")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, "the README has no Python example after 'With the Python SDK:'"
    return match.group(1)


def test_the_readme_python_example_runs(server: Server) -> None:
    code = readme_example()
    assert 'base_url="http://127.0.0.1:8377"' in code
    code = code.replace("http://127.0.0.1:8377", server.url)
    printed = io.StringIO()
    scope = {"KEY": server.keys[ADMIN]}
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md (Python SDK example)", "exec"), scope)  # noqa: S102
    dream = scope["dream"]
    assert dream.status == "completed", dream
    # The example took one page of sessions (1 to 100 ids), not every page.
    assert len(scope["sessions"]) == 20
    # It prints the output store's memories: the seeded fact at least.
    assert "/facts.md - plan: pro" in printed.getvalue(), printed.getvalue()
