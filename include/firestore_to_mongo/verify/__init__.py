"""The verify DAG (`firestore_to_mongo_verify`): its params (`config`), the comparison of a
partition with MongoDB and its re-check (`verifier`), the findings kept in the target
database (`store`), its figures (`report`), and its task bodies, one module per task:
`plan`, `partition`, `finish` (`<name>_done`), `summary`; and `changed`, the verify of
only the documents change capture journaled since a time (`changed_since`), which the
cut-over calls too.

Imports: `keys`, `run`, `source`, `target`, `contract`, `util`; never `migrate` or `ui`.
"""
