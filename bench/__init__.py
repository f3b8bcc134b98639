"""`make bench`: throughput and memory of the migration, against local stand-ins.

Not part of the test suite (pytest collects tests/ only). See bench/README.md.
"""
