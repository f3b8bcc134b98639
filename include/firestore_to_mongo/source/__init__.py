"""Firestore: the hook that builds the client from an Airflow connection, the paged reader
(cursor ranges for incremental reads), the partitioning of a read, sampling, the read
rate limit, and the one error a failing Firestore raises.

Imports: `contract` and `util` only; never `target`.
"""
