"""Where the demo grows: the engine team adds the live full-load-and-cdc task and a write load here.

`make demo` calls `after_setup(ctx)` once the console, the instance and both endpoints
exist (before the web server and worker start), then starts every process that
`extra_processes(ctx)` returns next to them, and stops them all on Ctrl-C.

ctx (a demo.DemoContext) gives: ctx.env (the environment every process gets),
ctx.manage(*args) (runs manage.py with that env and returns its output),
ctx.source_url / ctx.target_url (the demo databases), ctx.instance ("demo-instance"),
ctx.source_endpoint / ctx.target_endpoint (endpoint identifiers), ctx.say(text).
"""

from __future__ import annotations


def after_setup(ctx) -> None:
    """E.g. ctx.manage("dms", "create-replication-task", ...) once tasks exist."""


def extra_processes(ctx) -> list[tuple[str, list[str]]]:
    """(name, argv) of more processes to run with the demo, e.g. a celery beat or a small write load:
    [("beat", [ctx.python, "-m", "celery", "-A", "dmsconsole", "beat"])]."""
    return []
