"""What an officer does on the console's pages in the browser tests (officer.py starts the
processes): open the console and enable its sound, read the page's hooks, acknowledge from
the list, act on an incident page, take screenshots for the docs."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import cv2
import numpy as np
from officer import CONSOLE, Rig, hooks, shown, wait_for
from procs import ARTIFACTS
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

SHOTS = ARTIFACTS / "console"
"""Where the tests leave the console's screenshots (copied to docs/screenshots/)."""
SHOT_MAX_BYTES = 200_000
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
INCIDENTS = "return Array.from(document.querySelectorAll('#console tbody.incident'))" \
            ".map(t => t.dataset.incident);"  # fmt: skip


def unacked_in_store(rig: Rig) -> int:
    """Alarm and critical incidents still ``new`` (what the title and banner count)."""
    return int(rig.scalar("SELECT COUNT(*) FROM incidents WHERE status = 'new' AND sev_rank >= 2"))


def title_count(browser: WebDriver) -> int:
    """The unacknowledged count at the start of the tab title (0 without one)."""
    match = re.match(r"\((\d+)\) ", str(browser.title))
    return int(match[1]) if match else 0


def visit(rig: Rig, b: WebDriver, path: str, user: str = "budi") -> None:
    """Open *path* (logging *user* in again if the browser's session is gone)."""
    b.get(f"{rig.url}{path}")
    if "/login" in b.current_url:
        rig.login(b, user, path)


def open_console(rig: Rig) -> WebDriver:
    """The console, freshly loaded and live, its sound enabled by the officer's one click
    (once per browser: the choice is kept in localStorage)."""
    b = rig.browser
    visit(rig, b, CONSOLE)
    wait_for(lambda: b.find_elements(By.ID, "console"), 10, "the console")
    wait_for(lambda: b.execute_script("return !!(window.edgeWall && window.edgeWall.hasStream)"
                                      " && !document.getElementById('live').classList"
                                      ".contains('off');"), 10, "the console live")  # fmt: skip
    button = b.find_elements(By.ID, "enable-sound")
    assert button, "no #enable-sound button"
    if button[0].is_displayed():
        button[0].click()
    assert b.execute_script("return localStorage.getItem('edgeSound');") == "on"
    return b


def on_page(b: WebDriver) -> set[str]:
    """The incidents the open console shows."""
    return set(b.execute_script(INCIDENTS))


def acknowledge_in_list(b: WebDriver, site: str, incident: str) -> None:
    """Tick the incident's box in the list and press "acknowledge selected"."""
    pick = f'input.pick[value="{site}/{incident}"]'
    wait_for(lambda: b.find_elements(By.CSS_SELECTOR, pick), 10, f"the pick box of {incident}")
    b.find_element(By.CSS_SELECTOR, pick).click()
    b.find_element(By.ID, "ack-selected").click()


def incident_of(rig: Rig, event_id: str) -> str:
    """The incident of a stored event (its own occurrence when the node sent none)."""
    sql = "SELECT incident FROM occurrences WHERE first_event = ? OR last_event = ?"
    return str(wait_for(lambda: rig.query(sql, event_id, event_id), 10, "its occurrence")[0][0])


def incident_path(site: str, incident: str) -> str:
    """The incident page's path."""
    return f"/incidents/{quote(site, safe='')}/{quote(incident, safe='')}"


def signal_after(b: WebDriver, level: str, since_ms: float) -> tuple[dict[str, Any], ...]:
    """The first sound and Notification of *level* the page pushed to its hooks after
    *since_ms* (JavaScript time)."""

    def first() -> tuple[dict[str, Any], ...] | None:
        h = hooks(b)
        found = [
            next((x for x in h[key] if x["level"] == level and x["at"] >= since_ms), None)
            for key in ("sounds", "notifications")
        ]
        return (found[0], found[1]) if found[0] and found[1] else None

    return tuple(wait_for(first, 10, f"a {level} sound and notification"))


def act(b: WebDriver, form: str, button: str, **fields: str) -> None:
    """Fill *fields* (name -> value; a select gets its option) of the form ``#form`` on an
    incident page and press ``#button``; wait for the page to come back."""
    f = b.find_element(By.ID, form)
    for name, value in fields.items():
        el = f.find_element(By.NAME, name)
        if el.tag_name == "select":
            Select(el).select_by_value(value)
        else:
            el.clear()
            el.send_keys(value)
    old = b.find_element(By.TAG_NAME, "html")
    b.find_element(By.ID, button).click()
    wait_for(lambda: _stale(old), 10, f"the page after {button}")
    wait_for(lambda: b.find_elements(By.ID, "workflow"), 10, "the incident page again")


def _stale(element: Any) -> bool:
    try:
        element.tag_name  # noqa: B018 - touching it tells whether the page was replaced
    except Exception:  # StaleElementReferenceException and friends
        return True
    return False


def night(b: WebDriver, on: bool) -> None:
    """Switch the page to the dark theme with the header's button (or back to light)."""
    theme = "return document.documentElement.dataset.theme || '';"
    if (b.execute_script(theme) == "dark") != on:
        b.find_element(By.ID, "theme-toggle").click()
    want = "dark" if on else "light"
    wait_for(lambda: b.execute_script(theme) == want, 5, f"the {want} theme")
    if on:  # the page itself is dark, not only the attribute
        rgb = b.execute_script(
            "const c = (e) => getComputedStyle(e).backgroundColor;"
            " const body = c(document.body);"
            " return body === 'rgba(0, 0, 0, 0)' ? c(document.documentElement) : body;"
        )
        assert rgb != "rgba(0, 0, 0, 0)", "no background colour"
        assert sum(int(x) for x in re.findall(r"\d+", rgb)[:3]) < 3 * 100, rgb


def phone(b: WebDriver, on: bool) -> None:
    """Emulate a 390x844 phone (or stop)."""
    if on:
        b.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    else:
        b.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def shot(b: WebDriver, name: str) -> Path:
    """Save a screenshot of the page as ``SHOTS/name`` (PNG, at most 200 KB: scaled down
    until it fits)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    image = cv2.imdecode(np.frombuffer(b.get_screenshot_as_png(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    while ok and len(data) > SHOT_MAX_BYTES:
        scale = 0.95 * (SHOT_MAX_BYTES / len(data)) ** 0.5
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert ok
    path = SHOTS / name
    path.write_bytes(data.tobytes())
    return path


def fits_width(b: WebDriver, what: str) -> None:
    """The page is no wider than the phone's screen (and has a device-width viewport)."""
    width, inner = b.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert inner == PHONE["width"], f"{what}: no device-width viewport ({inner})"
    assert width <= inner, f"{what}: {width} px wide on a {inner} px screen"


def lang_of(b: WebDriver) -> str:
    """The page's ``lang`` attribute."""
    return str(b.find_element(By.TAG_NAME, "html").get_attribute("lang"))


def text_of(b: WebDriver) -> str:
    """The page's visible text."""
    return str(b.find_element(By.TAG_NAME, "body").text)


def banner_stands(b: WebDriver, seconds: float) -> None:
    """The unacknowledged banner stays up for *seconds* (a flash would be gone)."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        assert shown(b, "#unacked-banner"), "the banner did not stand"
        time.sleep(0.1)
