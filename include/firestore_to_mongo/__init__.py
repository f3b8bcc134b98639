"""Copy an app's Firestore data (users, digital twins, conversations, messages) into MongoDB.

One subpackage per stage; the data flows one way, and each layer imports only the
layers below it (`make lint` checks it with import-linter, see `.importlinter`):

    ui                   the sync page: how the sync stands, read from the target database
    cutover              the cut-over DAG: capture caught up, what changed verified, a verdict
    migrate | verify | capture
                         the DAGs' task bodies: migration, verify, change capture (independent)
    keys | run           who claims which key (conflicts, deleted sources) | what both DAGs' tasks share
    source | target      Firestore | MongoDB (independent of each other)
    contract             the mapping contract: pure, no I/O, no Airflow
    util                 generic helpers: text, tables, a prefetch pipeline, scratch SQLite, progress
"""
