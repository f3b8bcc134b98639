"""The errors that fail the verify's tasks, and so its run."""


class VerifyFailedError(RuntimeError):
    """Differences remain after the verify (and its repair), or a collection task failed."""


class JournalGapError(RuntimeError):
    """The change journal can't vouch for every change since the time asked for: change
    capture never ran, or its journal starts later. A retry can't fix it."""
