"""Who is who in an account: accounts, contacts, roles and rights, clearances, the audit trail,
and the dataset that carries them in and out.

Owns: ``accounts``, ``contacts``, ``secretbox`` (report passwords at rest), ``rights``,
``clearance`` (a role's rights to a ``storage.scoped.Scope``), ``audit``, ``dataset`` (the
import/export format), ``importing`` (``reportd import``), ``export`` and ``sample``; who
acts and what they may do (``principal``, ``authz``, ``role_specs``) and the changes a
principal makes through the API or the console (``contact_admin``, ``role_admin``,
``administrator_admin``), ``scope_summary``; users, passwords, tokens and sign-in. May
import ``service.errors``, ``service.reports`` (the event modules and locales) and
``storage``; not ``delivery``, ``scheduling``, ``health`` or the edges.
"""
