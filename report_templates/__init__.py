"""Jinja2 templates, CSS and message catalogs for reports and mails: data only, no logic."""

from pathlib import Path

#: The folder holding the templates and the ``locale/`` catalogs.
TEMPLATES_DIR = Path(__file__).parent
