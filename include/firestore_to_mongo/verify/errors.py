"""The error that fails the verify's tasks, and so its run."""


class VerifyFailedError(RuntimeError):
    """Differences remain after the verify (and its repair), or a collection task failed."""
