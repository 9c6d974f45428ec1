"""The push path without a browser: the Publisher reads committed rows and sends only what changed; the
consumers send the current state at once, then forward deltas; a burst is coalesced."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.utils import timezone

from dmsconsole.asgi import application
from dmsconsole.tests import personas
from monitoring import samples
from monitoring.broadcast import Publisher, TaskView, task_changed
from monitoring.models import TableStatistics
from tasks.models import ReplicationTask
from tasks.tests.task_helpers import make_task

pytestmark = [pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://localhost")


def _cookie(role: str) -> tuple[bytes, bytes]:
    client = personas.client_for(role)
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


def cells(html: str) -> dict[str, str]:
    """{id: content} of the out-of-band swaps in a message."""
    return dict(re.findall(r'<div id="([^"]+)" hx-swap-oob="innerHTML">(.*?)</div>(?=<div id=|$)', html))


async def _open(path: str, headers) -> tuple[WebsocketCommunicator, bool, int | None]:
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


@pytest.mark.parametrize("path", ["/ws/tasks/1/", "/ws/tasks/", "/ws/dashboard/"])
def test_it_refuses_a_websocket_without_a_session(path):
    async def scenario():
        communicator, connected, code = await _open(path, [ORIGIN])
        await communicator.disconnect()
        return connected, code

    assert asyncio.run(scenario()) == (False, 4403)


def test_it_sends_the_task_state_at_once_then_only_the_cells_that_changed():
    task = make_task(identifier="orders-cdc", status="running")
    row = TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", inserts=5,
                                         table_state="Table completed")
    publisher = Publisher()
    publisher.flush(task.pk, {"tables"})  # this process has sent the current state once
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open(f"/ws/tasks/{task.pk}/?rows={row.pk}&since={time.time()}",
                                                 [ORIGIN, cookie])
        assert connected
        first = await communicator.receive_from(timeout=10)
        await sync_to_async(TableStatistics.objects.filter(pk=row.pk).update)(inserts=7)
        sent = await sync_to_async(publisher.flush)(task.pk, {"tables"})
        delta = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return first, sent, delta

    first, sent, delta = asyncio.run(scenario())
    state = cells(first)
    assert state[f"tablestat-{row.pk}-inserts"] == "5"
    assert state[f"tablestat-{row.pk}-schema"] == "shop"
    assert 'class="status ok">Running<' in state[f"task-{task.pk}-status"]
    assert sent == 1  # the task's group only: the list's cells did not change
    changed = cells(delta)
    assert changed[f"tablestat-{row.pk}-inserts"] == "7"
    assert changed[f"tablestat-{row.pk}-total"] == "7"
    assert f"tablestat-{row.pk}-schema" not in changed and f"task-{task.pk}-status" not in changed


def test_it_appends_table_rows_that_appeared_after_the_page_was_rendered():
    task = make_task(identifier="orders-cdc", status="running")
    publisher = Publisher()
    publisher.flush(task.pk, {"tables"})
    cookie = _cookie("operator")

    async def scenario():
        communicator, connected, _ = await _open(f"/ws/tasks/{task.pk}/?rows=0", [ORIGIN, cookie])
        assert connected
        await communicator.receive_from(timeout=10)  # the current state: no rows yet
        row = await sync_to_async(TableStatistics.objects.create)(task_id=task.pk, schema_name="shop",
                                                                 table_name="items", inserts=1)
        await sync_to_async(publisher.flush)(task.pk, {"tables"})
        message = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return row, message

    row, message = asyncio.run(scenario())
    assert f'<tbody id="task-{task.pk}-tablestats-rows" hx-swap-oob="beforeend"><tr id="tablestat-{row.pk}">' in message
    assert f'<td id="tablestat-{row.pk}-inserts" class="num">1</td>' in message
    assert f'<tr id="task-{task.pk}-tablestats-empty" hx-swap-oob="delete">' in message
    assert 'name="table"' in message  # an Operator of a running task may select it for Reload table data


def test_it_sends_new_metric_samples_as_chart_points():
    task = make_task(identifier="orders-cdc", status="running")
    publisher = Publisher()
    publisher.flush(task.pk, {"status"})
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open(f"/ws/tasks/{task.pk}/?since={time.time()}", [ORIGIN, cookie])
        assert connected
        await communicator.receive_from(timeout=10)
        sample = await sync_to_async(samples.record_task_sample)(task.pk, {"CDCLatencySource": 0.25,
                                                                           "CDCLatencyTarget": 0.5})
        await sync_to_async(publisher.flush)(task.pk, {"metrics"})
        points = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return sample, json.loads(points)

    sample, message = asyncio.run(scenario())
    assert message == {"task": task.pk, "points": [{"t": sample.time.timestamp(), "CDCLatencySource": 0.25,
                                                    "CDCLatencyTarget": 0.5}]}


def test_it_catches_a_new_page_up_with_the_points_recorded_since_it_was_rendered():
    task = make_task(identifier="orders-cdc", status="running")
    rendered = time.time()
    later = samples.record_task_sample(task.pk, {"CDCLatencySource": 2.0})
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open(f"/ws/tasks/{task.pk}/?since={rendered}", [ORIGIN, cookie])
        assert connected
        await communicator.receive_from(timeout=10)
        points = json.loads(await communicator.receive_from(timeout=10))
        await communicator.disconnect()
        return points

    assert asyncio.run(scenario())["points"] == [{"t": later.time.timestamp(), "CDCLatencySource": 2.0}]


def test_it_serves_the_tasks_list_every_tasks_cells_then_each_change():
    first = make_task(identifier="alpha", status="running", tables_loaded=2)
    second = make_task(identifier="beta", status="stopped")
    publisher = Publisher()
    publisher.flush(second.pk, {"status"})
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open("/ws/tasks/", [ORIGIN, cookie])
        assert connected
        state = await communicator.receive_from(timeout=10)
        await sync_to_async(ReplicationTask.objects.filter(pk=second.pk).update)(status="starting")
        await sync_to_async(publisher.flush)(second.pk, {"status"})
        delta = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return state, delta

    state, delta = asyncio.run(scenario())
    assert cells(state)[f"task-{first.pk}-tables"] == "2 loaded, 0 loading, 0 queued, 0 errored"
    assert "Stopped" in cells(state)[f"task-{second.pk}-status"]
    assert list(cells(delta)) == [f"task-{second.pk}-status"]
    assert 'class="status busy">Starting<' in delta


def test_it_serves_the_dashboard_widgets_and_renders_them_again_on_a_change():
    task = make_task(identifier="alpha", status="running", latest_metrics={"CDCLatencyTarget": 3.5})
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open("/ws/dashboard/", [ORIGIN, cookie])
        assert connected
        state = await communicator.receive_from(timeout=10)
        await sync_to_async(ReplicationTask.objects.filter(pk=task.pk).update)(latest_metrics={"CDCLatencyTarget": 9.0})
        await sync_to_async(Publisher().flush)(task.pk, {"metrics"})
        again = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return state, again

    state, again = asyncio.run(scenario())
    assert 'id="dashboard-live"' in state and ">3.5 s<" in state and "Running" in state
    assert ">9.0 s<" in again


def test_it_coalesces_a_burst_of_changes_into_a_few_messages_a_second():
    flushed: list[tuple[float, set[str]]] = []

    class Counting(Publisher):
        def flush(self, task_pk, flags):
            flushed.append((time.monotonic(), flags))
            return 1

    publisher = Counting(interval=0.25)
    started = time.monotonic()
    for i in range(100_000):  # as fast as one thread can report
        publisher.mark(7, {"tables": True, "metrics": i % 1000 == 0})
    burst = time.monotonic() - started
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not flushed or flushed[-1][0] < started + burst):
        time.sleep(0.05)
    time.sleep(0.5)
    publisher.close()
    assert len(flushed) <= 2 + burst / 0.25
    gaps = [b[0] - a[0] for a, b in zip(flushed, flushed[1:], strict=False)]
    assert all(gap >= 0.24 for gap in gaps)
    assert set().union(*(flags for _, flags in flushed)) == {"tables", "metrics"}


def test_it_publishes_once_the_transaction_committed(settings):
    from django.db import transaction

    import monitoring.broadcast as broadcast

    settings.DMS_LIVE_PUSH = True
    seen: list[int] = []
    publisher = Publisher(send=lambda group, message: seen.append(message["task"]))
    task = make_task(identifier="orders-cdc", status="running")
    original = broadcast._publisher
    broadcast._publisher = publisher
    try:
        with transaction.atomic():
            task_changed(task.pk, status=True)
            time.sleep(0.3)
            assert seen == []  # not before the commit
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        broadcast._publisher = original
        publisher.close()
    assert seen and seen[0] == task.pk


def test_it_publishes_nothing_when_live_push_is_off(settings, monkeypatch):
    settings.DMS_LIVE_PUSH = False
    monkeypatch.setattr(Publisher, "mark", lambda *args: pytest.fail("marked"))
    task_changed(1, status=True)


def test_it_forgets_a_deleted_task():
    task = make_task(identifier="gone", status="stopped")
    publisher = Publisher(send=lambda group, message: None)
    publisher.flush(task.pk, {"status"})
    assert isinstance(publisher._views[task.pk], TaskView)
    ReplicationTask.objects.filter(pk=task.pk).delete()
    assert publisher.flush(task.pk, {"status"}) == 2  # the tasks list and the dashboard hear of it
    assert task.pk not in publisher._views


def test_it_tells_the_tasks_list_to_fetch_itself_when_a_task_comes_or_goes():
    existing = make_task(identifier="alpha", status="running")
    publisher = Publisher()
    cookie = _cookie("viewer")

    async def scenario():
        communicator, connected, _ = await _open("/ws/tasks/", [ORIGIN, cookie])
        assert connected
        await communicator.receive_from(timeout=10)
        created = await sync_to_async(make_task)(identifier="beta", status="ready")
        await sync_to_async(publisher.flush)(created.pk, {"status"})
        came = await communicator.receive_from(timeout=10)
        await sync_to_async(ReplicationTask.objects.filter(pk=existing.pk).delete)()
        await sync_to_async(publisher.flush)(existing.pk, {"status"})
        went = await communicator.receive_from(timeout=10)
        await communicator.disconnect()
        return came, went

    came, went = asyncio.run(scenario())
    assert json.loads(came) == {"event": "tasks-changed"}
    assert json.loads(went) == {"event": "tasks-changed"}


def test_it_shows_a_loading_tables_elapsed_time():
    task = make_task(identifier="orders", status="running")
    start = timezone.now() - timezone.timedelta(seconds=12)
    row = TableStatistics.objects.create(task=task, schema_name="shop", table_name="orders", table_state="Full load",
                                         full_load_start_time=start)
    sent: list[dict] = []
    Publisher(send=lambda group, message: sent.append(message)).flush(task.pk, {"tables"})
    elapsed = cells(sent[0]["html"])[f"tablestat-{row.pk}-elapsed"]
    assert re.fullmatch(r"1[23]\.\d s", elapsed)


def test_it_keeps_publishing_from_its_thread_after_a_failure(monkeypatch):
    calls: list[int] = []

    class Flaky(Publisher):
        def flush(self, task_pk, flags):
            calls.append(task_pk)
            if len(calls) == 1:
                raise RuntimeError("database away")
            return 1

    publisher = Flaky(interval=0.01)
    publisher.mark(1, {"status": True})
    time.sleep(0.2)
    publisher.mark(1, {"status": True})
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    thread = publisher._thread
    publisher.close()
    assert calls == [1, 1]
    assert thread is not None and not thread.is_alive()


def test_it_starts_a_forked_child_with_its_own_publisher():
    import os

    import monitoring.broadcast as broadcast

    parent = broadcast.publisher()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a fresh publisher, not the parent's
        os.write(write, b"fresh" if broadcast.publisher() is not parent else b"inherited")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 16) == b"fresh"
