"""The one display time (edge.core.displaytime) and the words around times and values
(edge.receiver.web.words) in both languages: one moment shows as one date and one time with
its zone label whatever the input, relative ages and durations read "3 mnt lalu" / "3 min
ago", and the [console] config refuses a zone that does not exist."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from edge.config.loader import ConfigError
from edge.core.displaytime import DisplayTimeError, DisplayZone, moment, span
from edge.receiver.config import loads
from edge.receiver.web import i18n, words

MOMENT = 1796598858
"""2026-12-06T23:14:18Z: still the 6th in UTC, already 06:14 on the 7th in WIB."""
SHOWN = "07-12-2026 06:14:18 WIB"
BASE = '[receiver]\nname = "r"\ndata_dir = "/tmp/r"\n[broker]\nhost = "h"\nallow_insecure = true\n'


@pytest.mark.parametrize(
    "value",
    [
        MOMENT,
        float(MOMENT),
        str(MOMENT),
        "2026-12-06T23:14:18Z",
        "2026-12-06T23:14:18+00:00",
        "2026-12-07T06:14:18+07:00",
        "2026-12-06T18:14:18-05:00",
    ],
)
def test_one_moment_is_one_date_and_time_in_wib(value: object) -> None:
    """UNIX seconds (number or text) and RFC 3339 in any offset all show as the WIB date and
    time with the label: a moment that is the 6th in UTC is the 7th here, shown once."""
    assert DisplayZone().when(value) == SHOWN  # type: ignore[arg-type]


def test_the_display_zone_has_no_daylight_saving() -> None:
    """Asia/Jakarta is UTC+7 all year: January and July, and across the year's end."""
    zone = DisplayZone()
    for iso in ("2026-01-15T12:00:00Z", "2026-07-15T12:00:00Z", "2026-12-31T23:59:59Z"):
        offset = zone.local(iso).utcoffset()
        assert offset is not None and offset.total_seconds() == 7 * 3600, iso
    assert zone.when("2026-12-31T17:00:00Z") == "01-01-2027 00:00:00 WIB"


def test_another_zone_shows_its_own_label() -> None:
    """A configured zone (Asia/Makassar, WITA) shows its own offset and label."""
    assert DisplayZone("Asia/Makassar", "WITA").when(MOMENT) == "07-12-2026 07:14:18 WITA"
    assert DisplayZone("UTC", "UTC").when(MOMENT) == "06-12-2026 23:14:18 UTC"


def test_clock_shows_the_date_only_when_it_is_not_today() -> None:
    """``clock``: ``HH:MM WIB`` on the same WIB day as now, with the date otherwise."""
    zone = DisplayZone()
    assert zone.clock(MOMENT, now=MOMENT + 3600) == "06:14 WIB"
    assert zone.clock(MOMENT, now=MOMENT + 86400) == "07-12-2026 06:14 WIB"
    assert zone.iso(MOMENT) == "2026-12-07T06:14:18+07:00"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2026-12-06T23:14:18", "no UTC offset"),
        ("yesterday", "neither UNIX seconds nor RFC 3339"),
        (float("nan"), "not a UNIX time"),
        (1e15, "not a UNIX time"),
    ],
)
def test_a_time_that_names_no_moment_is_refused_naming_it(value: object, problem: str) -> None:
    """A time without an offset, text that is no time, NaN or an absurd number: an error
    that quotes the value and says what is wrong."""
    with pytest.raises(DisplayTimeError, match=problem) as caught:
        moment(value)  # type: ignore[arg-type]
    assert repr(value) in str(caught.value) or str(value) in str(caught.value)


def test_an_unknown_zone_is_refused() -> None:
    """DisplayZone("Asia/Jakart") names the zone it could not find."""
    with pytest.raises(DisplayTimeError, match="Asia/Jakart"):
        DisplayZone("Asia/Jakart")


def test_console_config_defaults_and_refusals() -> None:
    """[console] defaults to Bahasa Indonesia, Asia/Jakarta, WIB; an unknown zone or
    language is a config error naming console.timezone / console.language."""
    console = loads(BASE).console
    assert (console.language, console.timezone, console.zone_label) == ("id", "Asia/Jakarta", "WIB")
    assert console.zone.when(MOMENT) == SHOWN
    wita = loads(
        BASE + '[console]\nlanguage = "en"\ntimezone = "Asia/Makassar"\nzone_label = "WITA"\n'
    )
    assert wita.console.zone.when(MOMENT).endswith("07:14:18 WITA")
    with pytest.raises(ConfigError, match=r"console\.timezone.*Mars/Olympus"):
        loads(BASE + '[console]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"console\.language"):
        loads(BASE + '[console]\nlanguage = "fr"\n')


def test_span_keeps_the_largest_parts() -> None:
    """Durations split into days, hours, minutes, seconds; the largest two non-zero."""
    assert span(0) == [("second", 0)]
    assert span(125) == [("minute", 2), ("second", 5)]
    assert span(3 * 3600 + 7) == [("hour", 3)]
    assert span(86400 + 3 * 3600 + 60) == [("day", 1), ("hour", 3)]
    assert span(-5) == [("second", 0)]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("id", ["2 mnt 5 dtk", "3 j", "1 hari 3 j", "0 dtk"]),
        ("en", ["2 min 5 s", "3 hr", "1 day 3 hr", "0 s"]),
    ],
)
def test_durations_in_both_languages(lang: str, expected: list[str]) -> None:
    """``duration``: compact units from the catalog in the user's language."""
    with i18n.use(lang):
        got = [words.duration(s) for s in (125, 3 * 3600, 86400 + 3 * 3600, 0)]
    assert got == expected
    assert words.duration(None) == ""


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("id", ["baru saja", "3 mnt lalu", "2 j lalu", "2 hari lalu", "5 mnt lagi"]),
        ("en", ["just now", "3 min ago", "2 hr ago", "2 days ago", "in 5 min"]),
    ],
)
def test_relative_ages_in_both_languages(lang: str, expected: list[str]) -> None:
    """``ago``: how long before now (one unit), "just now" under 10 s, a moment ahead of
    the clock counted forward; RFC 3339 input reads the same as UNIX seconds."""
    now = MOMENT + 0.0
    with i18n.use(lang):
        got = [words.ago(now - d, now=now) for d in (4, 185, 2 * 3600 + 59, 2 * 86400)]
        got.append(words.ago(now + 300, now=now))
        assert words.ago("2026-12-06T23:11:18Z", now=now) == got[1]
    assert got == expected


def test_long_relative_ages_come_from_cldr() -> None:
    """``agolong``: Babel's CLDR wording, "3 menit yang lalu" / "3 minutes ago"."""
    with i18n.use("id"):
        assert words.ago_long(MOMENT - 180, now=MOMENT) == "3 menit yang lalu"
    with i18n.use("en"):
        assert words.ago_long(MOMENT - 180, now=MOMENT) == "3 minutes ago"


def test_long_dates_name_the_day_and_month_in_the_language() -> None:
    """``longwhen``: weekday and month in words (CLDR), the WIB time and label."""
    with i18n.use("id"):
        assert words.long_when(MOMENT, DisplayZone()) == "Senin, 7 Desember 2026 06:14:18 WIB"
    with i18n.use("en"):
        assert words.long_when(MOMENT, DisplayZone()) == "Monday, 7 December 2026 06:14:18 WIB"


def test_names_and_numbers_in_both_languages() -> None:
    """Kinds, severities and states read as words ("Pintu terbuka", "Asap", "Kamera
    ditutupi", "Kritis", "Sedang ditangani"); an unknown value shows as stored; numbers
    group by language."""
    with i18n.use("id"):
        assert [words.kindname(k) for k in ("door_open", "smoke", "camera_tampered")] == [
            "Pintu terbuka", "Asap", "Kamera ditutupi"]  # fmt: skip
        assert words.sevname("critical") == "Kritis"
        assert words.statusname("in_progress") == "Sedang ditangani"
        assert words.kindname("not_a_kind") == "not_a_kind"
        assert words.number(12345) == "12.345"
    with i18n.use("en"):
        assert words.kindname("camera_tampered") == "Camera covered"
        assert words.statusname("acknowledged") == "Acknowledged"
        assert words.number(12345) == "12,345"
    assert words.kindname(None) == ""


def test_the_language_is_per_context() -> None:
    """``use`` sets the language for its block only and falls back to the default for an
    unknown one."""
    assert i18n.current() == i18n.DEFAULT
    with i18n.use("en"):
        assert i18n.gettext("Smoke") == "Smoke"
        with i18n.use("xx"):
            assert i18n.current() == "id" and i18n.gettext("Smoke") == "Asap"
        assert i18n.current() == "en"
    assert i18n.current() == "id"
    assert isinstance(moment(MOMENT), datetime)


def test_the_documented_console_block_is_valid() -> None:
    """docs/receiver.md's ``[console]`` block is a valid receiver config with the defaults."""
    doc = (Path(__file__).resolve().parents[3] / "docs" / "receiver.md").read_text()
    block = re.search(r"```toml\n(\[console\].*?)```", doc, re.S)
    assert block, "no [console] block in docs/receiver.md"
    console = loads(BASE + block[1]).console
    assert console.zone.when(MOMENT) == SHOWN and console.language == "id"
