"""The Django-free replication engine: plans, full load, capture, spool, apply, runner.

Run it alone with `python -m tasks.engine` (see __main__.py), or through the
console's Celery jobs, which implement the same reporter interface.
"""
