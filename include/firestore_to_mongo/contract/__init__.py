"""The mapping contract: which Firestore documents go to which MongoDB collection, under
which key, with which values (timestamps, Firestore types), and which of two documents
with one key wins. Pure functions and data: no I/O, no Airflow, no client library.

Imports: `util` only.
"""
