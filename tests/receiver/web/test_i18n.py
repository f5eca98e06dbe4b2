"""The console's two languages, checked from the sources: every string the templates and the
Python mark is extracted now (as ``python -m edge.receiver.web.catalogs`` does) and must be in
both catalogs, translated (``id``: not empty, not fuzzy), with the same placeholders; every
kind, severity and state has a name. Then each page is rendered in both languages: the
``lang`` attribute follows the user's language, and no English msgid shows on an ``id`` page.
The switcher (``POST /lang``, ``/login?lang=``) and ``edge receive user add --lang``."""

from __future__ import annotations

import html
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
from babel.messages.catalog import Catalog, Message
from dash import Fleet, add_user, client_for, csrf_of, login, web_config
from starlette.testclient import TestClient

from edge.cli.main import main
from edge.core.kinds import Kind, Severity
from edge.receiver.alerts import AlertKind
from edge.receiver.store.incidents import OUTCOMES, Ref
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web import catalogs, i18n, words
from edge.receiver.web.users import Role

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|\{(\w+)\}")
SAME_IN_BOTH = {
    "Administrator",
    "Admin",
    "Alarm",
    "Info",
    "Status",
    "live",
    "sensor",
    "Kamera / sensor",
    "Auditor",
}
"""English words Bahasa Indonesia uses as they are (allowed as their own translation)."""


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else str(message.id)


def _forms(value: Any) -> list[str]:
    if value is None:
        return [""]
    return [value] if isinstance(value, str) else list(value)


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    """What the sources mark now."""
    return catalogs.extract()


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_marked_string_is_translated_with_its_placeholders(
    extracted: Catalog, lang: str
) -> None:
    """Each extracted msgid is in the catalog of *lang*, not fuzzy, every plural form filled,
    and each form has exactly the msgid's placeholders (``%(name)s``, ``{name}``)."""
    catalog = catalogs.read(lang)
    problems = []
    for message in extracted:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None:
            problems.append(f"missing: {message.id!r}")
            continue
        if found.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        expected = set().union(*(_placeholders(t) for t in _forms(message.id)))
        for form in _forms(found.string):
            if not form:
                problems.append(f"untranslated: {message.id!r}")
            elif _placeholders(form) != expected:
                problems.append(f"placeholders differ: {message.id!r} -> {form!r}")
    assert not problems, f"{lang}: run python -m edge.receiver.web.catalogs, then translate:\n" + (
        "\n".join(problems)
    )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_babel_finds_no_format_errors(lang: str) -> None:
    """Babel's own check of the catalog (python-format placeholders and plural forms)."""
    errors = [(m.id, e) for m, e in catalogs.read(lang).check()]
    assert not errors, errors


def test_every_kind_severity_and_state_has_a_translated_name() -> None:
    """Every node event kind and receiver alert kind, every severity, workflow state, closing
    outcome and role has a readable name, translated in ``id`` (not the English, not the
    stored value)."""
    assert set(words.KIND_NAMES) == set(Kind) | set(AlertKind)
    assert set(words.SEVERITY_NAMES) == set(Severity)
    assert {"new", "acknowledged", "in_progress", "closed"} <= set(words.STATUS_NAMES)
    assert set(words.OUTCOME_NAMES) == set(OUTCOMES)
    assert set(words.ROLE_NAMES) == set(Role)
    table = [*words.KIND_NAMES.items(), *words.SEVERITY_NAMES.items(),
             *words.STATUS_NAMES.items(), *words.OUTCOME_NAMES.items(),
             *words.ROLE_NAMES.items()]  # fmt: skip
    with i18n.use("id"):
        for value, msgid in table:
            shown = i18n.gettext(msgid)
            assert shown and shown != value, value
            assert shown != msgid or msgid in SAME_IN_BOTH, (value, msgid)


class _Visible(HTMLParser):
    """The words a person sees or hears: text outside scripts and styles, and the
    attributes that are read (title, labels, placeholders, data-msg-* strings). Text that is
    shown verbatim (``translate="no"``, or the verifier's own words in :data:`VERBATIM`) is
    left out."""

    READ: ClassVar[set[str]] = {"title", "aria-label", "placeholder", "alt", "data-dark",
                                "data-light"}  # fmt: skip
    VERBATIM: ClassVar[set[str]] = {"signature", "audit-problems"}
    """Element ids whose text is the verifier's report, quoted as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.lang: str | None = None
        self._skip: list[list[Any]] = []  # [tag, depth] of the skipped subtrees

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if self._skip and self._skip[-1][0] == tag:
            self._skip[-1][1] += 1
        elif (tag in ("script", "style") or a.get("translate") == "no"
              or a.get("id") in self.VERBATIM):  # fmt: skip
            self._skip.append([tag, 1])
        if self._skip:
            return
        for name, value in attrs:
            if value and (name in self.READ or name.startswith("data-msg")):
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1][0] == tag:
            self._skip[-1][1] -= 1
            if not self._skip[-1][1]:
                self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


ENGLISH = re.compile(r"\b(?:the|The|and|of|with|from|not|No|is|are|this|This|to|by|for|or)\b")
"""Words of English sentences that Bahasa Indonesia never uses: an unmarked English string
on an ``id`` page shows through them even when no catalog entry knows it."""


def _visible(page: str) -> _Visible:
    parser = _Visible()
    parser.feed(page)
    return parser


def _english_only() -> list[str]:
    """Msgids whose Indonesian differs and that cannot be part of Indonesian text."""
    catalog = catalogs.read("id")
    translations = " ".join(f for m in catalog if m.id for f in _forms(m.string))
    found = []
    for message in catalog:
        key = _key(message)
        if not key or _placeholders(key) or len(key) < 4 or key in SAME_IN_BOTH:
            continue
        if _forms(message.string)[0] == key or key in translations:
            continue
        found.append(key)
    return found


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReceiverStore]:
    """A SQLite store with an incident (door then person) and a smoke alarm."""
    s = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    fleet = Fleet(s)
    fleet.ids["door"] = fleet.event("door_open", camera=None, sensor="pintu-1", incident="i-1")
    fleet.ids["person"] = fleet.event("person", incident="i-1")
    fleet.ids["smoke"] = fleet.event("smoke", severity="critical", state="instant")
    s.fleet = fleet  # type: ignore[attr-defined]
    yield s
    s.close()


@pytest.fixture
def client(tmp_path: Path, store: ReceiverStore) -> Iterator[TestClient]:
    """A dashboard client (not logged in) on the store, the receiver's default language."""
    with client_for(web_config(tmp_path / "rx"), store) as c:
        yield c


def _pages(store: ReceiverStore) -> list[str]:
    fleet: Fleet = store.fleet  # type: ignore[attr-defined]
    return ["/alerts", "/alerts/rows", "/fleet", "/fleet/board", "/admin",
            fleet.url(fleet.ids["person"]), f"/incidents/{fleet.node.site}/i-1",
            "/audit/access", "/audit/reports"]  # fmt: skip


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_page_renders_in_the_users_language(
    store: ReceiverStore, client: TestClient, lang: str
) -> None:
    """A user whose language is *lang* gets every page (an incident closed as a false alarm
    among them) with ``<html lang=LANG>`` and ``Content-Language``; no stored value shows
    where its name belongs (``door_open``, ``false_alarm``); on the ``id`` pages no English
    msgid of the catalog and no English sentence shows (text, titles, labels), and the
    readable names of the stored kinds do."""
    add_user(store, "sari", "admin")
    i18n.set_user_lang(store.db, "sari", lang)
    assert login(client, "sari").status_code == 303
    site = store.fleet.node.site  # type: ignore[attr-defined]
    client.app.state.dashboard.workflow.close(Ref(site, "i-1"), "sari", "false_alarm")  # type: ignore[attr-defined]
    leaks = _english_only()
    raw = [v for t in (words.KIND_NAMES, words.STATUS_NAMES, words.OUTCOME_NAMES) for v in t
           if "_" in v]  # fmt: skip
    for path in _pages(store):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        seen = _visible(r.text)
        assert r.headers["content-language"] == lang, path
        if "<html" in r.text:
            assert seen.lang == lang, path
        text = "\n".join(html.unescape(p) for p in seen.parts)
        stored = [v for v in raw if re.search(rf"(?<![\w-]){v}(?![\w-])", text)]
        assert not stored, f"{path}: stored values instead of their names: {stored}"
        if lang != "id":
            continue
        shown = [m for m in leaks if re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", text)]
        shown += [p for p in text.splitlines() if ENGLISH.search(p)]
        assert not shown, f"{path}: English on the Indonesian page: {shown}"
    page = client.get("/alerts").text
    names = ("Pintu terbuka", "Asap") if lang == "id" else ("Door open", "Smoke")
    assert all(n in html.unescape(page) for n in names), names


def test_the_login_page_follows_lang_and_keeps_it_in_a_cookie(client: TestClient) -> None:
    """Before a login the receiver's default (``id``) shows; ``?lang=en`` renders English and
    sets the cookie, which the next visit without ``?lang`` follows; an unknown language is
    ignored."""
    first = _visible(client.get("/login").text)
    assert first.lang == "id" and "Masuk" in first.parts
    assert not [p for p in first.parts if ENGLISH.search(p) or p in ("Log in", "Password")]
    r = client.get("/login?lang=en")
    assert _visible(r.text).lang == "en" and r.cookies.get(i18n.COOKIE) == "en"
    assert _visible(client.get("/login").text).lang == "en"
    assert _visible(client.get("/login?lang=fr").text).lang == "en"


def test_the_switcher_stores_the_users_language(store: ReceiverStore, client: TestClient) -> None:
    """``POST /lang`` stores the language for the user (another browser of the same user
    gets it), goes back to the page it came from; an unknown language is a 400 naming the
    choices; without the CSRF token a 403."""
    add_user(store, "budi", "officer")
    assert login(client, "budi").status_code == 303
    page = client.get("/alerts").text
    assert 'action="/lang"' in page
    back = client.post("/lang", data={"lang": "en", "csrf": csrf_of(page), "next": "/fleet"},
                       follow_redirects=False)  # fmt: skip
    assert back.status_code == 303 and back.headers["location"] == "/fleet"
    assert i18n.user_lang(store.db, "budi") == "en"
    assert _visible(client.get("/alerts").text).lang == "en"
    bad = client.post("/lang", data={"lang": "fr", "csrf": csrf_of(page)})
    assert bad.status_code == 400 and "id, en" in bad.text
    assert client.post("/lang", data={"lang": "id"}).status_code == 403
    app = client.app
    with TestClient(app, base_url="http://testserver") as other:
        assert login(other, "budi").status_code == 303
        assert _visible(other.get("/alerts").text).lang == "en"


def test_user_add_sets_the_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``edge receive user add NAME --role officer --lang en`` stores the language; without
    ``--lang`` the user has none (the receiver's default applies); ``--lang fr`` is a usage
    error."""
    conf = tmp_path / "receiver.toml"
    conf.write_text(
        f'[receiver]\nname = "polda-test"\ndata_dir = "{tmp_path / "rx"}"\n'
        '[broker]\nhost = "localhost"\nallow_insecure = true\n'
    )
    for name, extra in (("anna", ["--lang", "en"]), ("budi", [])):
        monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
        args = ["receive", "-c", str(conf), "user", "add", name, "--role", "officer", *extra]
        assert main(args) == 0
    with pytest.raises(SystemExit) as usage:
        main(["receive", "-c", str(conf), "user", "add", "cici", "--role", "officer",
              "--lang", "fr"])  # fmt: skip
    assert usage.value.code == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err
    s = ReceiverStore(f"sqlite:///{tmp_path / 'rx' / 'receiver.db'}", tmp_path / "rx")
    try:
        assert i18n.user_lang(s.db, "anna") == "en"
        assert i18n.user_lang(s.db, "budi") is None
    finally:
        s.close()


def test_the_documented_check_passes() -> None:
    """docs/receiver.md's catalog check, run by bash as written (the venv's python first on
    PATH), finds nothing left to translate."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "receiver.md").read_text()
    block = re.search(r"test_i18n\.py runs this -->\n```sh\n(.*?)```", doc, re.S)
    assert block, "no catalog check in docs/receiver.md"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-ec", block[1]], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "catalogs: id 0 to do, en 0 to do\n"
