"""Keeping the catalogs in step with the sources: ``python -m edge.receiver.web.catalogs``
extracts every marked string (templates: ``_()``, ``gettext``, ``ngettext``, ``{% trans %}``;
Python: those and ``N_``) as :file:`babel.cfg` maps them, writes ``locale/messages.pot`` and
updates both ``.po`` files (new entries empty in ``id``, the msgid itself in ``en``; gone
entries dropped). Translating the new ``id`` entries is then a person's job; the catalog
test fails until it is done."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from edge.receiver.web.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, po_path

PACKAGE = Path(__file__).resolve().parents[2]
"""``edge/``: where babel.cfg's paths start."""
MAPPING = Path(__file__).with_name("babel.cfg")
POT = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None}
PROJECT = "warehouse-edge"
HEADER = (
    "# The console's strings ({lang}): English msgids from the templates and the Python.\n"
    "# Updated by python -m edge.receiver.web.catalogs; translated by hand."
)
TEAMS = {"id": "Bahasa Indonesia", "en": "English"}


def extract() -> Catalog:
    """Every translatable string in the package now (a template catalog)."""
    with MAPPING.open() as f:
        method_map, options_map = parse_mapping_cfg(f, str(MAPPING))  # type: ignore[no-untyped-call]
    template = Catalog(project=PROJECT, version="", fuzzy=False)
    template.header_comment = HEADER.format(lang="template")
    found = extract_from_dir(str(PACKAGE), method_map, options_map, keywords=KEYWORDS)
    for filename, lineno, message, comments, context in found:
        where = [(str(Path("edge") / filename), lineno)]
        template.add(message, None, where, auto_comments=comments, context=context)
    return template


def read(lang: str) -> Catalog:
    """The ``.po`` catalog of *lang*."""
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, no_location=True, sort_output=True,
                 ignore_obsolete=True, include_previous=False)  # fmt: skip


def update() -> dict[str, int]:
    """Re-extract, write the ``.pot`` and merge it into every catalog; how many entries
    of each language are still untranslated."""
    template = extract()
    _write(POT, template)
    untranslated: dict[str, int] = {}
    for lang in LANGUAGES:
        catalog = read(lang) if po_path(lang).exists() else Catalog(locale=lang, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.project, catalog.version = PROJECT, ""
        catalog.header_comment = HEADER.format(lang=lang)
        catalog.language_team = TEAMS[lang]
        catalog.last_translator = TEAMS[lang]
        catalog.msgid_bugs_address = ""
        for message in catalog:
            if message.id and lang == "en" and not _translated(message.string):
                message.string = message.id  # English msgids: the identity
        _write(po_path(lang), catalog)
        untranslated[lang] = sum(1 for m in catalog if m.id and not _translated(m.string))
    return untranslated


def _translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    """Every form of *string* is there."""
    if string is None:
        return False
    forms = [string] if isinstance(string, str) else list(string)
    return bool(forms) and all(forms)


def check() -> dict[str, list[str]]:
    """What each catalog lacks for the sources now, writing nothing: msgids missing,
    untranslated or fuzzy."""
    template = extract()
    lacking: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        catalog = read(lang)
        problems = []
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, context=message.context)
            if found is None or found.fuzzy or not _translated(found.string):
                problems.append(str(message.id))
        lacking[lang] = problems
    return lacking


def main(argv: list[str] | None = None) -> int:
    """Update the catalogs and say what is left to translate; ``--check``: only say it
    (exit 1 if anything is)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        lacking = check()
        for lang, problems in lacking.items():
            for p in problems:
                print(f"{lang}: not translated: {p}", file=sys.stderr)
        print("catalogs: " + ", ".join(f"{k} {len(v)} to do" for k, v in lacking.items()))
        return 1 if any(lacking.values()) else 0
    if args:
        print("usage: python -m edge.receiver.web.catalogs [--check]", file=sys.stderr)
        return 2
    for lang, n in update().items():
        print(f"{lang}: {n} untranslated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
