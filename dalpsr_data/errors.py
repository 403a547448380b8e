"""One line for an exception, the form every recorded failure reason takes.

Used for a failed shard (``failed_shards`` in a report), a failed sample (a caption
sidecar's ``reason``) and any other reason the project writes down instead of raising.
"""

from __future__ import annotations

MAX_REASON = 300  # characters: a reason is a table cell, not a traceback


def reason_of(error: BaseException) -> str:
    """``"<ExceptionType>: <first line of the message>"``, at most 300 characters.

    A Ray task error carries the worker's exception in ``.cause``: that one is described,
    so the line reads the same from the local loop and from a Ray worker.
    """
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first}"[:MAX_REASON]
