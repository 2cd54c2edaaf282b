"""What a report shows and how it is written, without sending it anywhere.

Owns: ``model`` (report types, classifications, event modules, the plain data a template
gets), ``builder`` (scoped queries into a ``ReportData``), ``rendering`` (Jinja2 HTML of
reports, footers and mails), ``csv_export`` (the CSV attachment), ``locales`` (the
languages and time zones reportd speaks). May import ``service.errors``, ``storage`` and
``report_templates``; nothing else of ``service``.
"""
