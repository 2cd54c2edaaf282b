"""Is this process able to work, and what is it doing: ``reportd check``'s checks and a
worker's ``/metrics``, ``/healthz`` and ``/readyz``.

Owns: ``checks`` and ``worker_http``. May import ``service.config``, ``service.errors``,
``service.delivery`` (to find Chromium), ``service.runtime`` and ``storage``; not
``scheduling`` or the edges.
"""
