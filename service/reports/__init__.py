"""What a report shows and how it is written, without sending it anywhere.

Owns: ``model`` (report types, formats, classifications, event modules, the plain data a
template gets), ``kinds`` (the table of report kinds), ``spec`` (``ReportSpec``: what a run
asks for, in the console's JSON), ``wallclock`` (the wall-clock rule of windows and
schedules), ``builder`` (scoped queries into a ``ReportData``), ``rendering`` (Jinja2 HTML of
reports, footers and mails), ``csv_export`` (the CSV attachment), ``locales`` (the
languages and time zones reportd speaks). May import ``service.errors``, ``storage`` and
``report_templates``; nothing else of ``service``.
"""
