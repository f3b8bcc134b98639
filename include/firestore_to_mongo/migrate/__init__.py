"""The migration DAG (`firestore_to_mongo`): its params (`config`), what a run reads
(`read_plan`), the read–map–claim–write loop (`pipeline`), its figures (`report`), and its
task bodies, one module per task: `plan`, `partition`, `finish` (`<name>_done`), `summary`.

Imports: `keys`, `run`, `source`, `target`, `contract`, `util`; never `verify` or `ui`.
The DAG file imports `config` at parse time and the task modules inside its tasks.
"""
