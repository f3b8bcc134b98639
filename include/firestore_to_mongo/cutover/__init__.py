"""The cut-over: wait until capture has applied everything up to a read time after the
app stopped writing, verify what changed since the last full verify, repair when asked,
and give a verdict (`safe_to_switch` or `blocked`, with the reasons) and how long the
app had to wait.

Imports: `verify`, `capture` and every layer below them; never `migrate`, `ui`.
"""
