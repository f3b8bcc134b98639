"""Who claims which upsert key: ledgers of claims on local disk (alone, or journaled into
the target database), the conflict guard that lets only a key's winner through, the
rewrite of winners, and the deleted-source scan (MongoDB keys no source document claimed).

Imports: `source`, `target`, `contract` and `util`; never `run`, `migrate`, `verify` or `ui`.
"""
