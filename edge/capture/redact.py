"""Credentials out of text: every string that leaves the capture layer (errors, log fields,
event data) goes through :func:`redact`, because FFmpeg repeats the URL it was given, with
its ``user:password@``, in its error messages."""

from __future__ import annotations

import re

# scheme://userinfo@ - greedy up to the last "@" before whitespace, so a password holding
# "@", "/" or a quote is still hidden whole (a path with an "@" is hidden too: safe side)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s]*@")
# ?password=... &pass=... ;token=... (query or parameter values that are credentials)
_QUERY = re.compile(
    r"(?i)([?&;](?:password|passwd|pass|pwd|pw|secret|token|auth|api_?key|key)=)[^&;\s]*"
)


def redact(text: str) -> str:
    """*text* with the user and password of every URL replaced by ``***`` (``scheme://***@``)
    and credential query values (``password=``, ``pass=``, ``token=``, ...) by ``***``."""
    return _QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))
