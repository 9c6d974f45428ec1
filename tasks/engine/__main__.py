"""The engine without the console.

    python -m tasks.engine plan --source URL --target URL --table-mappings FILE [--task-settings FILE]
    python -m tasks.engine run  --source URL --target URL --table-mappings FILE [--task-settings FILE]
                                --migration-type full-load|cdc|full-load-and-cdc [--resume | --reload] ...

`plan` prints the plan as JSON without moving data and exits 2 when a document is
invalid (every error printed). `run` prints progress and a final table; it exits 0
only when every table completed, 1 when something failed, 2 for invalid input.
SIGINT/SIGTERM stop a running task at a transaction boundary.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

from endpoints.engines.conninfo import ConnectionInfo
from endpoints.engines.errors import EngineError

from .planning import PlanError
from .reporting import TableKey, TableState
from .runner import MigrationType, RunResult, StartMode, TaskRunner, TaskSpec
from .terminal import TerminalReporter


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = _spec(args)
    except (EngineError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "plan":
        return _plan(spec)
    return _run(spec, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tasks.engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("plan", "run"):
        sub = commands.add_parser(name)
        sub.add_argument("--source", required=True, help="postgresql://user:pass@host:port/db, mysql://..., mssql://...")
        sub.add_argument("--target", required=True)
        sub.add_argument("--table-mappings", required=True, type=Path, help="DMS table-mapping JSON file")
        sub.add_argument("--task-settings", type=Path, help="DMS task-settings JSON file")
        sub.add_argument("--migration-type", default="full-load", choices=[t.value for t in MigrationType])
        if name == "run":
            sub.add_argument("--task-id", default="cli-task", help="names the checkpoint and the replication slot")
            mode = sub.add_mutually_exclusive_group()
            mode.add_argument("--resume", action="store_true", help="resume-processing from the checkpoint")
            mode.add_argument("--reload", action="store_true", help="reload-target: load every table again")
            sub.add_argument("--cdc-start-position", help="native position: LSN, binlog file:pos, ...")
            sub.add_argument("--cdc-start-time", type=datetime.fromisoformat, help="UTC, e.g. 2026-01-31T12:00:00")
            sub.add_argument("--cdc-stop-position", help="server_time:... or commit_time:...")
            sub.add_argument("--spool-dir", type=Path, default=Path(".spool"))
            sub.add_argument("--spool-limit-gb", type=float, default=50.0)
            sub.add_argument("--threads", action="store_true", help="load with threads instead of processes")
            sub.add_argument("--verbose", action="store_true")
    return parser


def _spec(args: argparse.Namespace) -> TaskSpec:
    settings = args.task_settings.read_text() if args.task_settings else None
    return TaskSpec(
        task_id=getattr(args, "task_id", "cli-task"),
        source=ConnectionInfo.from_url(args.source),
        target=ConnectionInfo.from_url(args.target),
        migration_type=MigrationType(args.migration_type),
        table_mappings=args.table_mappings.read_text(),
        task_settings=settings,
        cdc_start_position=getattr(args, "cdc_start_position", None),
        cdc_start_time=getattr(args, "cdc_start_time", None),
        cdc_stop_position=getattr(args, "cdc_stop_position", None),
        spool_dir=getattr(args, "spool_dir", Path(".spool")),
        spool_limit_bytes=int(getattr(args, "spool_limit_gb", 50.0) * 2**30),
        executor="thread" if getattr(args, "threads", False) else "process",
    )


def _plan(spec: TaskSpec) -> int:
    runner = TaskRunner(spec, TerminalReporter(sys.stderr))
    problems = [str(p) for p in runner.settings.errors]
    try:
        plan = runner.plan()
    except PlanError as exc:
        problems.extend(str(p) for p in exc.problems)
        plan = None
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if plan is not None:
        problems.extend(str(p) for p in plan.errors)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    print(json.dumps(plan.to_json(), indent=2, default=str))
    return 0


def _run(spec: TaskSpec, args: argparse.Namespace) -> int:
    if not runner_settings_ok(spec):
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    reporter = TerminalReporter(sys.stdout, verbose=args.verbose)
    runner = TaskRunner(spec, reporter, stop)
    mode = StartMode.RESUME if args.resume else StartMode.RELOAD if args.reload else StartMode.START
    try:
        reporter.estimates = {TableKey(p.source_schema, p.source_table): p.source.estimated_rows
                              for p in runner.plan().tables}
    except (PlanError, EngineError):
        pass  # run() reports the same problem with its stop reason
    result = _run_with_restarts(spec, reporter, stop, runner, mode)
    print()
    print(reporter.summary())
    print(result.stop_reason)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 2 if result.invalid_input else 1
    incomplete = [k for k, s in reporter.states.items() if s is not TableState.COMPLETED]
    return 1 if result.failed_tables or incomplete else 0


def _run_with_restarts(spec: TaskSpec, reporter: TerminalReporter, stop: threading.Event, runner: TaskRunner,
                       mode: StartMode) -> RunResult:
    """Restart from the checkpoint after recoverable errors (a database restarting or unreachable), as
    ErrorBehavior's RecoverableErrorCount / RecoverableErrorInterval / RecoverableErrorThrottlingMax say."""
    errors = runner.settings.settings.error_behavior
    attempt = 0
    while True:
        result = runner.run(mode)
        if not result.recoverable or stop.is_set():
            return result
        attempt += 1
        if 0 <= errors.recoverable_error_count < attempt:
            return result
        delay = errors.recoverable_error_interval * (2 ** (attempt - 1) if errors.recoverable_error_throttling else 1)
        delay = min(delay, errors.recoverable_error_throttling_max)
        print(f"Recoverable error, attempt {attempt}: {result.error}. Resuming from the checkpoint in {delay} s",
              file=sys.stderr, flush=True)
        if stop.wait(delay):
            return result
        runner, mode = TaskRunner(spec, reporter, stop), StartMode.RESUME


def runner_settings_ok(spec: TaskSpec) -> bool:
    from .settings import parse_task_settings

    result = parse_task_settings(spec.task_settings)
    for problem in result.errors:
        print(f"error: {problem}", file=sys.stderr)
    return result.ok


if __name__ == "__main__":
    sys.exit(main())
