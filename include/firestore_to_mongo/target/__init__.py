"""MongoDB: the connection (through an Airflow Mongo connection), the comparer and writer
(`$set`/`$unset` upserts, inserts), and the run state kept in the target database:
watermarks and checkpoints, the run history the sync page reads, and the key journal.

Imports: `contract` and `util` only; never `source`.
"""
