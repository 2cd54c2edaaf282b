"""reportd: report distribution with per-contact clearance.

Business logic lives here as plain functions and dataclasses, grouped by capability, one
package each; ``storage`` below holds the tables and scoped queries, ``actors`` above turns
queue messages into calls of these functions. Dependencies point one way
(actors -> service -> storage), and inside ``service`` from the top of this list down:

- ``api``, ``cli``, ``console``: the edges (the REST API, the ``reportd`` command, the web
  console); may import any package (the console nothing of ``api``: both call the packages
  below with the same ``directory.principal.Principal``).
- ``health``: readiness checks and a worker's HTTP endpoints; imports ``delivery``,
  ``directory`` (the secret key's check), ``runtime``.
- ``scheduling``: scheduled tasks, recurrences, the console's task JSON; imports
  ``delivery``, ``reports``.
- ``delivery``: the run ledger, the pipeline, PDF, encryption, mail and SMTP; imports
  ``directory``, ``reports``, ``runtime``.
- ``directory``: accounts, contacts, roles and rights, clearance, audit, the dataset's import
  and export; imports ``reports`` (the event modules of ``reports.model``).
- ``reports``: what a report shows and how it is written (model, builder, HTML, CSV, locales);
  imports nothing of ``service`` but ``errors`` and ``fields``.
- ``runtime``: the running process's plumbing (logs, metrics, outages, process tree).
- ``config``, ``errors`` and ``fields`` (the table of field rules) at the top level: importable
  from everywhere.

The edges are the only places that know of HTTP or the command line; no package imports one
above it (``tests/service/test_layers.py`` checks).
"""
