"""The running process's plumbing: structured logs, Prometheus metrics, outage waits, the
process tree read from /proc.

Owns: ``logs``, ``metrics``, ``outages``, ``proctree``. May import ``service.config``,
``service.errors`` and ``storage``; nothing else of ``service`` (every other package may use
it).
"""
