"""Reports: long questions of the catalogue, run as background jobs.

The registry (``reports.registry``) knows every report by name: one module in
``reports/definitions/`` each, with its parameter schema and its raw SQL. The
web side only records a job (``reports.jobs``) and enqueues its id
(``reports.queue``); ``flask reports worker`` runs the queue's consumer, which
runs the job (``reports.tasks``) and, beside it, recovers the jobs of workers
that died (running, or taken off the queue but not yet claimed) and purges
expired results (``reports.worker``).
"""
