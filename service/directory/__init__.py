"""Who is who in an account: accounts, contacts, roles and rights, clearances, the audit trail,
and the dataset that carries them in and out.

Owns: ``accounts``, ``contacts``, ``secretbox`` (report passwords at rest), ``rights``,
``clearance`` (a role's rights to a ``storage.scoped.Scope``), ``audit``, ``dataset`` (the
import/export format), ``importing`` (``reportd import``), ``export`` and ``sample``. May
import ``service.errors``, ``service.reports`` (the event modules and locales) and
``storage``; not ``delivery``, ``scheduling``, ``health`` or the edges.
"""
