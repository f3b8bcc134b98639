"""Generic helpers that know nothing of Firestore, MongoDB or the contract: short quoting of
values in messages, fixed-width tables and lines within a width, bounded counts by reason,
a background prefetch pipeline, a scratch SQLite database on local disk, and progress lines.

Imports: nothing of this package.
"""
