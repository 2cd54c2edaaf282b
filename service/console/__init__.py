"""The web console: administrators manage contacts, roles and administrators in a browser.

Served by ``reportd api`` at ``/`` (``service.console.app.create_console``, mounted by
``service.api.app.create_app``); server-rendered Jinja2 pages with htmx, in the ten report
languages. An edge like ``api`` and ``cli``: it calls the same service functions as the API
with the same ``Principal`` type, and imports nothing of ``service.api``.
"""
