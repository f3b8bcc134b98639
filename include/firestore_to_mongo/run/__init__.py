"""What the task bodies of both DAGs share: the rule each param is checked by and the
schemas both DAGs take, the `Param`s of the trigger form, each task's validated config,
the run's key, and the figures a collection's partitions push for its `<name>_done`.

Imports: `contract` and `util` (and Airflow's SDK inside functions); never `keys`,
`migrate`, `verify` or `ui`.
"""
