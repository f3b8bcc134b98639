"""Change capture: Firestore's Listen stream applied to MongoDB within seconds, by the
migration's own mapping, writer and key-conflict rule, with a checkpoint to resume from,
a change journal, and figures.

Imports: `keys`, `run`, `source`, `target`, `contract`, `util`; never `migrate`, `verify`.
"""
