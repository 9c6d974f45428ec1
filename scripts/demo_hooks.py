"""The demo's live migration: a full-load-and-cdc task from demo-source to demo-target, a small write
load on the source, and the scheduler that takes tasks over from dead workers.

`make demo` calls `after_setup(ctx)` once the console, the instance and both endpoints exist (before
the web server and worker start), then starts every process `extra_processes(ctx)` returns next to
them, and stops them all on Ctrl-C.

ctx (a demo.DemoContext) gives: ctx.env, ctx.manage(*args), ctx.source_url / ctx.target_url,
ctx.instance, ctx.source_endpoint / ctx.target_endpoint, ctx.python, ctx.say(text).
"""

from __future__ import annotations

import json
from pathlib import Path

TASK = "demo-task"
MAPPINGS = {"rules": [
    {"rule-type": "selection", "rule-id": "1", "rule-name": "shop", "object-locator": {"schema-name": "shop",
     "table-name": "%"}, "rule-action": "include"},
]}
SETTINGS = {"Logging": {"EnableLogging": True}, "FullLoadSettings": {"TargetTablePrepMode": "DROP_AND_CREATE"}}
HERE = Path(__file__).resolve().parent


def after_setup(ctx) -> None:
    """Create the task once; start it, or resume it when an earlier demo left it stopped."""
    status = _status(ctx)
    if status is None:
        folder = Path(ctx.env.get("DMS_DEMO_DIR") or HERE.parent / ".demo")
        mappings, settings = folder / "demo-mappings.json", folder / "demo-settings.json"
        mappings.write_text(json.dumps(MAPPINGS, indent=2))
        settings.write_text(json.dumps(SETTINGS, indent=2))
        ctx.manage("dms", "create-replication-task", "--replication-task-identifier", TASK,
                   "--source-endpoint-arn", ctx.source_endpoint, "--target-endpoint-arn", ctx.target_endpoint,
                   "--replication-instance-arn", ctx.instance, "--migration-type", "full-load-and-cdc",
                   "--table-mappings", f"file://{mappings}", "--replication-task-settings", f"file://{settings}")
        status = "ready"
        ctx.say(f"created task {TASK}: full load of the shop schema, then ongoing replication")
    start_type = {"ready": "start-replication", "stopped": "resume-processing", "failed": "resume-processing"}
    if status in start_type:
        ctx.manage("dms", "start-replication-task", "--replication-task-arn", TASK,
                   "--start-replication-task-type", start_type[status])
        ctx.say(f"task {TASK}: {start_type[status]} (the worker picks it up as soon as it starts)")
    else:
        ctx.say(f"task {TASK} is {status}; the scheduler hands it to this demo's worker if its old one is gone")


def extra_processes(ctx) -> list[tuple[str, list[str]]]:
    return [
        ("beat", [ctx.python, "-m", "celery", "-A", "dmsconsole", "beat", "--loglevel", "INFO",
                  "--schedule", str(Path(ctx.env.get("DMS_DEMO_DIR") or HERE.parent / ".demo") / "celerybeat")]),
        ("writer", [ctx.python, str(HERE / "demo_writer.py"), ctx.source_url]),
    ]


def _status(ctx) -> str | None:
    output = ctx.manage("dms", "describe-replication-tasks", "--filters", f"Name=replication-task-id,Values={TASK}",
                        "--without-settings", check=False)
    try:
        tasks = json.loads(output[output.index("{"):]).get("ReplicationTasks", [])
    except ValueError:
        return None
    return tasks[0]["Status"] if tasks else None
