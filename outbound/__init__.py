"""What leaves the process: e-mail and outbound webhooks, each a task run by `manage.py db_worker`
(Django's Tasks API, django-tasks' database backend), retried with backoff (outbound/retry.py).
Callers enqueue inside their transaction; the task is queued only once it commits."""
