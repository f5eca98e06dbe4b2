"""The console's languages: gettext catalogs (``locale/LANG/LC_MESSAGES/messages.po``, English
msgids), one language per request, and the words around times (relative ages, durations).

The ``.po`` files are the only source: each is compiled into memory (Babel's ``read_po`` and
``write_mo``) the first time its language is used, so a checkout, a wheel and CI need no
build step and no compiled file can be stale.

Templates call ``_()``/``gettext``/``ngettext`` (Jinja2's i18n extension, newstyle); Python
marks strings with :func:`N_` (extracted, translated where shown) or translates now with
:func:`gettext` in the language the request is rendered in (:func:`use`)."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

from edge.receiver.store import accounts
from edge.receiver.store.database import Database

LANGUAGES = ("id", "en")
"""The console's languages, the receiver's default first."""
DEFAULT = "id"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
COOKIE = "edge_lang"
"""Before a login (or for a user without a language): the browser's choice."""

_current: ContextVar[str] = ContextVar("edge_lang", default=DEFAULT)
_lock = threading.Lock()
_cache: dict[str, Translations] = {}


def po_path(lang: str) -> Path:
    """The catalog source of *lang*."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def translations(lang: str) -> Translations:
    """*lang*'s catalog, compiled from its ``.po`` on first use (unknown: the default)."""
    lang = lang if lang in LANGUAGES else DEFAULT
    found = _cache.get(lang)
    if found is not None:
        return found
    with _lock:
        if lang not in _cache:
            with po_path(lang).open("rb") as f:
                catalog = read_po(f, locale=lang, domain=DOMAIN)
            buf = io.BytesIO()
            write_mo(buf, catalog, use_fuzzy=False)
            buf.seek(0)
            _cache[lang] = Translations(buf, domain=DOMAIN)
        return _cache[lang]


def valid(lang: object) -> str | None:
    """*lang* if it is one of :data:`LANGUAGES`, else None."""
    return lang if isinstance(lang, str) and lang in LANGUAGES else None


def current() -> str:
    """The language being rendered in now."""
    return _current.get()


@contextmanager
def use(lang: str) -> Iterator[str]:
    """Translate into *lang* within the block (per task and thread: contextvars)."""
    token = _current.set(valid(lang) or DEFAULT)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    """*message* in the current language."""
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of *singular*/*plural* for *n* in the current language."""
    return translations(_current.get()).ungettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """*message* in *context* (one English word, two meanings) in the current language."""
    return translations(_current.get()).upgettext(context, message)


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    """:func:`ngettext` with a context."""
    return translations(_current.get()).unpgettext(context, singular, plural, n)


def N_(message: str) -> str:
    """Mark *message* for extraction; translate it where it is shown."""
    return message


def user_lang(db: Database, user: str) -> str | None:
    """*user*'s own language (None: none set, or no such user)."""
    return valid(accounts.language(db, user))


def set_user_lang(db: Database, user: str, lang: str | None) -> bool:
    """Set (None: clear) *user*'s language; False if there is no such user."""
    if lang is not None and valid(lang) is None:
        raise ValueError(f"language {lang!r}: one of {', '.join(LANGUAGES)}")
    return accounts.set_language(db, user, lang)


def request_lang(request: Request, db: Database, default: str) -> str:
    """The language of *request*: its logged-in user's, else ``?lang=``, else the
    :data:`COOKIE`, else *default*."""
    session = getattr(request.state, "session", None)
    user = getattr(session, "user", None)
    if isinstance(user, str):
        own = user_lang(db, user)
        if own:
            return own
    return (
        valid(request.query_params.get("lang"))
        or valid(request.cookies.get(COOKIE))
        or valid(default)
        or DEFAULT
    )
