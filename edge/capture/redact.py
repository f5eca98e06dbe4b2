"""Credentials out of text: every string that leaves the capture layer (errors, log fields,
event data) goes through :func:`redact`, because FFmpeg repeats the URL it was given, with its
credentials, in its error messages. The rules live in :mod:`edge.core.redact`, below the
config, whose errors must not show a camera's password either."""

from __future__ import annotations

from edge.core.redact import HIDDEN, redact

__all__ = ["HIDDEN", "redact"]
