"""Scheduled tasks: when they fire and what a firing asks for.

Owns: ``scheduler`` (the scheduler pass: due tasks to runs, broken tasks set apart),
``loops`` (the scheduler's and the reconciler's long-running loops, over a ``Dispatcher``),
``recurrences`` (daily, weekly, monthly and once schedules in a time zone), ``task_schema``
(the console's scheduled-task JSON). May import ``service.config``, ``service.errors``,
``service.delivery`` (to ask for runs and hand them over), ``service.directory``,
``service.reports``, ``service.runtime`` and ``storage``; not ``health`` or the edges.
"""
