"""The one error the source raises for a whole backend: Firestore failed or did not answer."""


class SourceUnavailableError(RuntimeError):
    """Firestore did not answer in time, or refused the query."""
