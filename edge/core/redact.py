"""Credentials out of text. Camera URLs carry them in many places, and FFmpeg repeats the URL
it was given in its error messages, so every string that may leave the node (a log field, an
event's data, a worker's error, a config error) goes through :func:`redact`.

Where vendors put credentials, and what is hidden:

- userinfo, ``rtsp://user:password@host/...`` (most cameras): ``rtsp://***@host/...``;
- query and path parameters whose key is a credential: ``?password=``, ``&pwd=``,
  ``;token=``, ``/user=admin_password=Secret_channel=1`` (XMEye, and Dahua OEMs),
  ``?usr=admin&pwd=`` (Foscam), ``&loginpas=``, ``?authbasic=BASE64`` (Amcrest, Dahua),
  ``?auth=`` (Hikvision ISAPI), ``?user=&pass=`` (ONVIF snapshot URIs): the value becomes
  ``***``, the key stays (``password=***``). User names stay readable for diagnosis unless
  they sit in the userinfo;
- an opaque access token as a whole path segment (``rtsps://nvr:7441/Dn3YwEvd3cMzSGxt``,
  UniFi Protect): 16 or more letters and digits mixing upper case, lower case and digits.

A parameter's value runs to the next ``&``, ``;``, ``#`` or white space, or to the next
``_key=`` (the underscore-separated XMEye form), so a password holding ``/``, ``@``, ``?``,
``=`` or a quote is hidden whole (a closing quote after it goes too: the safe side); a value
percent-encoded inside another URL (``password%3DSecret%26``) is hidden too.
"""

from __future__ import annotations

import re

HIDDEN = "***"

_KEY = (
    r"(?:pass(?:word|wd|wort|phrase)?|pas|pwd|psw|pw|secret|token|auth(?:basic|orization)?"
    r"|api_?key|key|sig(?:nature)?|credentials?)"
)
"""A key is a credential when it ends in one of these (``password``, ``user_password``,
``loginpas``, ``access_token``, ``authbasic``, ``X-Amz-Signature``), in any case."""

_PARAM = re.compile(
    rf"(?i)(?<![A-Za-z0-9])([A-Za-z0-9_.-]{{0,40}}?{_KEY}(?:=|%3D))"  # the key, kept
    r"((?:(?!%26|%3B|_[A-Za-z][A-Za-z0-9]*(?:=|%3D))[^&;#\s])*)"  # its value
)
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s]*@")
"""``scheme://userinfo@``, greedy up to the last ``@`` before white space, so a password
holding ``@``, ``/``, ``:`` or a quote is still hidden whole (an ``@`` further on in the path
hides that much more: the safe side)."""
_TOKEN_SEGMENT = re.compile(
    r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s'\"]+(?:/[^/\s'\"?#]*)*?/)"
    r"(?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])"
    r"([A-Za-z0-9]{16,})(?=[/?#\s'\"]|$)"
)


_WHOLE_USERINFO = re.compile(r"(?is)\A(\s*[a-z][a-z0-9+.-]*://).*@")


def redact_url(url: str) -> str:
    """*url*, a value known to be one URL (a config value, even a malformed one with white
    space in its password), with its credentials hidden: everything between the scheme and
    the last ``@`` goes, then :func:`redact` applies."""
    return redact(_WHOLE_USERINFO.sub(rf"\1{HIDDEN}@", url))


def _param(match: re.Match[str]) -> str:
    return f"{match.group(1)}{HIDDEN}" if match.group(2) else match.group(0)


def redact(text: str) -> str:
    """*text* with every credential in it replaced by ``***``: URL userinfo, credential
    parameters (query or path, any vendor's form) and opaque path tokens. Idempotent, and
    text without credentials is returned unchanged."""
    if "=" in text or "%3" in text.upper():
        text = _PARAM.sub(_param, text)
    if "://" not in text:
        return text
    text = _USERINFO.sub(rf"\1{HIDDEN}@", text)
    return _TOKEN_SEGMENT.sub(rf"\1{HIDDEN}", text)
