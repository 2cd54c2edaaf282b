"""Getting a report run to its recipients: the ledger, the pipeline and everything it drives.

Owns: ``request`` (asking for a run), ``ledger`` (runs and deliveries and their states),
``dispatch`` (the ``Dispatcher`` type that hands committed work to the workers),
``pipeline`` (render, protect and mail one delivery), ``pdf`` (the Chromium renderer),
``render_cache`` and ``shared_pdfs`` (PDFs shared between recipients), ``compaction``,
``encryption``, ``mail``, ``smtp_connections`` and ``smtp_sink``. May import
``service.config``, ``service.errors``, ``service.directory``, ``service.reports``,
``service.runtime`` and ``storage``; not ``scheduling``, ``health`` or the edges.
"""
