"""The errors that fail the verify's tasks, and so its run."""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class VerifyFailedError(AirflowFailException):
    """Differences remain after the verify (and its repair), or a collection task failed: a
    verdict, which a retry would only repeat, so Airflow doesn't retry it."""


class JournalGapError(RuntimeError):
    """The change journal can't vouch for every change since the time asked for: change
    capture never ran, or its journal starts later. A retry can't fix it."""
