"""Put source values and free text into messages without letting them grow the message.

Warnings and errors end up in task logs, XCom and the run report. A field can
hold a 900 KB string: quoting it whole would make every one of those heavy, and
building its repr only to throw most of it away would be slow too.
"""

from __future__ import annotations

from typing import Any


def quote(value: Any, limit: int = 200) -> str:
    """`repr(value)`, cut to its first `limit` characters when it is longer.

    A cut repr ends with "… (N characters)": N is the length of the string for
    a string, else the length of the full repr. A string is sliced before its
    repr is built, so the cost does not depend on its length.
    """
    if isinstance(value, str):
        # limit + 1 characters make a repr longer than limit whenever the
        # string is, so the cut below still happens exactly when it should.
        text, length = repr(value[: limit + 1]), len(value)
    else:
        text = repr(value)
        length = len(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({length} characters)"


def shorten(text: str, limit: int = 500) -> str:
    """Free text (a reason, an error message), cut to `limit` characters when longer."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"
