"""reportd: report distribution with per-contact clearance.

Business logic lives here as plain functions and dataclasses; it knows nothing of the broker
or the web. ``storage`` below it holds the tables and scoped queries; ``actors`` above it
turns queue messages into calls of these functions.
"""
