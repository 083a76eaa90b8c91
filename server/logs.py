"""Personal links never reach the logs.

A person's link (``/s/<code>``, and household links ``/h/<code>``) is their password: whoever reads it
signs in as them. uvicorn's access log writes every request's path and query string, so a log file, or
whoever a log shipper sends it to, would hold every person's sign-in. :class:`RedactPersonalLinks` sits on
the ``uvicorn.access`` logger and rewrites the path argument of each record before any handler formats
it: ``/s/AbC…`` becomes ``/s/…``, and access codes in query strings are blanked the same way."""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "…"

# A code in a personal link's path, up to the next "/", "?" or "#" (or the end, or a space in a message).
_LINK = re.compile(r"(/[sh]/)[^/?#&\s\"]+")
# A code in a query string: ?code=…, &access_code=… (any parameter named like one).
_QUERY_CODE = re.compile(r"([?&](?:access_code|code|token)=)[^&#\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with every personal link's code and access code in a query string replaced by "…"."""
    return _QUERY_CODE.sub(rf"\g<1>{REDACTED}", _LINK.sub(rf"\g<1>{REDACTED}", text))


class RedactPersonalLinks(logging.Filter):
    """Rewrites uvicorn's access records (and any other record's string arguments) before formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_redaction(logger_name: str = ACCESS_LOGGER) -> None:
    """Puts the filter on the access logger once (a second app in one process adds no second filter)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactPersonalLinks) for f in logger.filters):
        logger.addFilter(RedactPersonalLinks())
