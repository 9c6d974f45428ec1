"""The Celery application. Jobs live in each app's jobs.py; queues are per replication instance."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dmsconsole.settings")

app = Celery("dmsconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(related_name="jobs")
# Every worker reports itself to the console (tasks/heartbeat.py), however it was started.
app.steps["worker"].add("tasks.heartbeat.Heartbeat")
