"""In Debian's Chromium, against the console as production serves it (daphne, websockets), a real worker,
Redis and PostgreSQL -> PostgreSQL CDC: live Table statistics, live charts, two users, refused anonymous
sockets, and a burst of 100,000 changes reaching the page in a bounded number of messages.

Screenshots: task-monitoring.png and task-table-statistics.png (dmsconsole.tests.screenshots).
"""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from dmsconsole.tests import personas
from dmsconsole.tests.browser import chromium as launch_chromium
from dmsconsole.tests.screenshots import screenshot_path
from monitoring.models import TableStatistics
from monitoring.tests.console_server import running_console
from tasks.models import ReplicationTask
from tasks.tests.task_cluster import Cluster, dms, wait_for, write_json
from tasks.tests.workers import worker_env

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IDENTIFIER = "orders-live"
TOKEN = "live-scrape-token"


@pytest.fixture
def cluster(tmp_path, pg_database):  # set up after the databases: stopped before they drop
    cluster = Cluster(tmp_path, env={"DMS_METRICS_INTERVAL": "1"})
    dms("create-replication-instance", "--replication-instance-identifier", cluster.instance)
    yield cluster
    cluster.close()


@pytest.fixture
def console(cluster, tmp_path):
    with running_console(tmp_path / "console.log", worker_env(**cluster.env, DMS_METRICS_TOKEN=TOKEN)) as url:
        yield url


@pytest.fixture
def chromium():
    with launch_chromium() as browser:
        yield browser


def make_source(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA shop")
        conn.execute("CREATE TABLE shop.orders (id bigserial PRIMARY KEY, note text NOT NULL)")
        conn.execute("CREATE TABLE shop.customers (id bigserial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO shop.orders (note) SELECT 'order ' || g FROM generate_series(1, 50) g")
        conn.execute("INSERT INTO shop.customers (name) SELECT 'customer ' || g FROM generate_series(1, 20) g")


def start_task(cluster: Cluster, source: str, target: str, tmp_path: Path) -> ReplicationTask:
    cluster.start_worker("a")
    src, tgt = cluster.create_endpoints(source, target)
    endpoints = {e["EndpointIdentifier"]: e["EndpointArn"] for e in dms("describe-endpoints")["Endpoints"]}
    mappings = {"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "shop",
                           "object-locator": {"schema-name": "shop", "table-name": "%"}, "rule-action": "include"}]}
    arn = dms("create-replication-task", "--replication-task-identifier", IDENTIFIER,
              "--source-endpoint-arn", endpoints[src], "--target-endpoint-arn", endpoints[tgt],
              "--replication-instance-arn", cluster.instance, "--migration-type", "full-load-and-cdc",
              "--table-mappings", write_json(tmp_path / "mappings.json", mappings))["ReplicationTask"][
        "ReplicationTaskArn"]
    dms("start-replication-task", "--replication-task-arn", arn, "--start-replication-task-type", "start-replication")
    wait_for("both tables loaded", lambda: (t := cluster.tables(arn)) and len(t) == 2 and
             all(row["TableState"] == "Table completed" for row in t.values()), timeout=120)
    cluster.wait_status(IDENTIFIER, "running")
    return ReplicationTask.objects.get(identifier=IDENTIFIER)


def sign_in(browser, base: str, role: str):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.utils.crypto import get_random_string

    user = personas.make_user(role)
    # The console runs the production settings, whose hashers do not include the test settings' MD5.
    user.password = PBKDF2PasswordHasher().encode(personas.PASSWORD, get_random_string(12), iterations=1000)
    user.save(update_fields=["password"])
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", personas.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def open_tab(page, base: str, tab: str) -> None:
    page.goto(f"{base}/tasks/{IDENTIFIER}/?tab={tab}")
    page.wait_for_function("window.dmsLive && window.dmsLive.connected", timeout=15_000)
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads


def cell(page, cell_id: str) -> str:
    return page.inner_text(f"#{cell_id}").strip()


def insert(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def test_it_pushes_an_insert_to_two_users_pages_and_the_latency_chart_gains_points(
        cluster, console, chromium, pg_database, tmp_path):
    source, target = pg_database(), pg_database()
    make_source(source)
    task = start_task(cluster, source, target, tmp_path)
    orders = TableStatistics.objects.get(task=task, table_name="orders")
    inserts = f"tablestat-{orders.pk}-inserts"

    operator = sign_in(chromium, console, "operator")
    viewer = sign_in(chromium, console, "viewer")
    for page in (operator, viewer):
        open_tab(page, console, "table-statistics")
    before = int(cell(operator, inserts))
    assert cell(viewer, inserts) == str(before)

    insert(source, "INSERT INTO shop.orders (note) VALUES ('the live one')")
    inserted = time.monotonic()
    for page in (operator, viewer):
        page.wait_for_function(f"document.getElementById('{inserts}').textContent.trim() === '{before + 1}'",
                               timeout=max(1, 2000 - int(1000 * (time.monotonic() - inserted))))
    arrived = time.monotonic() - inserted
    assert arrived <= 2.0
    for page in (operator, viewer):
        assert page.evaluate("window.__sameDocument") is True  # updated in place, no reload
        assert cell(page, f"tablestat-{orders.pk}-total") == str(50 + before + 1)
    # Sortable: by Inserts, ascending then descending (the live cells keep their rows).
    rows = f"#task-{task.pk}-tablestats-rows tr"
    operator.click(f"#task-{task.pk}-tablestats th[data-sort='inserts'] button")
    assert operator.eval_on_selector_all(rows, "rs => rs.map(r => r.id)") == \
        [f"tablestat-{TableStatistics.objects.get(task=task, table_name='customers').pk}", f"tablestat-{orders.pk}"]
    operator.click(f"#task-{task.pk}-tablestats th[data-sort='inserts'] button")
    assert operator.eval_on_selector_all(rows, "rs => rs.map(r => r.id)")[0] == f"tablestat-{orders.pk}"
    assert operator.get_attribute(f"#task-{task.pk}-tablestats th[data-sort='inserts']", "aria-sort") == "descending"
    operator.screenshot(path=str(screenshot_path("task-table-statistics.png")))

    # The Monitoring tab: the latency chart gains points as the runner samples (every second here).
    for page in (operator, viewer):
        page.click("#tab-monitoring")
        page.wait_for_selector(f"#task-{task.pk}-chart-latency canvas")
    chart = f"#task-{task.pk}-chart-latency"
    counts = [int(page.get_attribute(chart, "data-points")) for page in (operator, viewer)]
    for page, count in zip((operator, viewer), counts, strict=True):
        page.wait_for_function(f"Number(document.querySelector('{chart}').dataset.points) >= {count + 2}",
                               timeout=15_000)
        assert page.evaluate("window.__sameDocument") is True
    shot = screenshot_path("task-monitoring.png")
    operator.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # A window switch redraws from the stored samples, in place.
    operator.click(f"#task-{task.pk}-monitoring a:has-text('1 hour')")
    operator.wait_for_selector(f"#task-{task.pk}-monitoring[data-window='3600'] {chart} canvas")
    assert int(operator.get_attribute(chart, "data-points")) >= 1  # 4-second averages over the hour

    # The Viewer's dashboard: the task by status, its CDC latency, the instance's worker with its metrics.
    viewer.goto(f"{console}/")
    viewer.wait_for_selector(f"#dashboard-latency-{task.pk}")
    viewer.wait_for_function("document.querySelector('#dashboard-live').textContent.includes(' %')",
                             timeout=15_000)  # CPU and memory from the worker's heartbeat
    assert "running" in viewer.inner_text("#dashboard-status-running").lower()
    viewer.screenshot(path=str(screenshot_path("dashboard-live.png")), full_page=True)

    # Without a session the task's socket is refused.
    anonymous = chromium.new_context().new_page()
    anonymous.goto(f"{console}/login/")
    outcome = anonymous.evaluate("""(url) => new Promise((resolve) => {
        const socket = new WebSocket(url);
        socket.onopen = () => resolve("open");
        socket.onclose = () => resolve("closed");
        setTimeout(() => resolve("timeout"), 10000);
    })""", console.replace("http", "ws") + f"/ws/tasks/{task.pk}/")
    assert outcome == "closed"


def test_it_carries_a_burst_of_100000_changes_in_a_few_messages_and_ends_on_the_true_counts(
        cluster, console, chromium, pg_database, tmp_path):
    source, target = pg_database(), pg_database()
    make_source(source)
    task = start_task(cluster, source, target, tmp_path)
    orders = TableStatistics.objects.get(task=task, table_name="orders")
    customers = TableStatistics.objects.get(task=task, table_name="customers")

    page = sign_in(chromium, console, "viewer")
    frames: list[float] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(time.monotonic())))
    open_tab(page, console, "table-statistics")
    time.sleep(1.0)  # the socket's current state
    frames.clear()

    started = time.monotonic()
    for _ in range(20):  # 100,000 changes in 20 transactions: 80,000 inserts, 10,000 updates, 10,000 deletes
        insert(source, "INSERT INTO shop.orders (note) SELECT 'burst ' || g FROM generate_series(1, 4000) g")
        insert(source, "UPDATE shop.customers SET name = name || '.' WHERE id <= 20")
        insert(source, "UPDATE shop.orders SET note = note || '!' WHERE id IN "
                       "(SELECT id FROM shop.orders WHERE note LIKE 'burst %' ORDER BY id DESC LIMIT 480)")
        insert(source, "DELETE FROM shop.orders WHERE id IN "
                       "(SELECT id FROM shop.orders WHERE note LIKE 'burst %' ORDER BY id LIMIT 500)")
    expected = {"inserts": 80_000, "updates": 400 + 9_600, "deletes": 10_000}
    page.wait_for_function(
        f"document.getElementById('tablestat-{orders.pk}-inserts').textContent.trim() === '80000' && "
        f"document.getElementById('tablestat-{orders.pk}-deletes').textContent.trim() === '10000' && "
        f"document.getElementById('tablestat-{orders.pk}-updates').textContent.trim() === '9600' && "
        f"document.getElementById('tablestat-{customers.pk}-updates').textContent.trim() === '400'",
        timeout=180_000)
    took = time.monotonic() - started
    time.sleep(2.0)  # anything still coming would be counted
    messages = len(frames)

    # Coalesced: at most 4 sends a second (each a cell update, and chart points when the runner sampled),
    # whatever the number of changes.
    assert messages <= 8 * (took + 2.0) + 4, (messages, took)
    assert messages < 1_000
    described = {row["TableName"]: row for row in dms("describe-table-statistics", "--replication-task-arn",
                                                      IDENTIFIER)["TableStatistics"]}
    assert (described["orders"]["Inserts"], described["orders"]["Updates"], described["orders"]["Deletes"]) == \
        (expected["inserts"], 9_600, expected["deletes"])
    assert described["customers"]["Updates"] == 400
    assert cell(page, f"tablestat-{orders.pk}-total") == str(50 + 80_000 + 9_600 + 10_000)
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM shop.orders").fetchone()[0] == 50 + 80_000 - 10_000
    assert page.evaluate("window.__sameDocument") is True

    # Prometheus scrapes the same numbers.
    request = urllib.request.Request(f"{console}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        families = {f.name: f.samples for f in text_string_to_metric_families(response.read().decode())}
    for name, row in described.items():
        labels = {"task": IDENTIFIER, "schema": "shop", "table": name}
        for family, field in [("dms_table_inserts", "Inserts"), ("dms_table_updates", "Updates"),
                              ("dms_table_deletes", "Deletes"), ("dms_table_full_load_rows", "FullLoadRows")]:
            assert [s.value for s in families[family] if s.labels == labels and s.name.endswith("_total")] == \
                [row[field]], (family, name)
    latency = [s for s in families["dms_task_cdc_latency_target_seconds"] if s.labels["task"] == IDENTIFIER]
    assert len(latency) == 1 and latency[0].value >= 0
