"""Sites and nodes as people know them: the receiver config's ``[sites."ID"]`` and
``[nodes."SITE/NODE"]`` tables, their checks, and the Jinja filters that fall back to ids."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from edge.config.loader import ConfigError
from edge.receiver.config import loads
from edge.receiver.places import Places, from_config
from edge.receiver.store.store import ReceiverStore
from edge.receiver.web.context import Dashboard

BASE = '[receiver]\nname = "r"\ndata_dir = "/tmp/r"\n[broker]\nhost = "h"\nallow_insecure = true\n'
PLACES = """
[sites."semarang-1"]
name = "Gudang Bulog Kaligawe"
address = "Jl. Kaligawe Raya 12"
regency = "Kota Semarang"

[sites."kendal-2"]
name = "Gudang Kendal"

[nodes."semarang-1/gudang-07"]
name = "Pintu utara"
location = "Pintu bongkar muat"
"""


def places() -> Places:
    """The places of the example config."""
    return from_config(loads(BASE + PLACES))


def test_names_addresses_and_regencies_come_from_the_config() -> None:
    """Configured sites and nodes have their names, addresses and kabupaten/kota."""
    p = places()
    assert p.site_label("semarang-1") == "Gudang Bulog Kaligawe"
    assert p.address("semarang-1") == "Jl. Kaligawe Raya 12"
    assert p.regency("semarang-1") == "Kota Semarang"
    assert p.regency("kendal-2") == ""
    assert p.node_label("semarang-1", "gudang-07") == "Pintu utara"
    assert p.location("semarang-1", "gudang-07") == "Pintu bongkar muat"


def test_unnamed_sites_and_nodes_fall_back_to_their_ids() -> None:
    """A site or node the config does not name shows its id; a node name is per site."""
    p = places()
    assert p.site_label("demak-9") == "demak-9"
    assert p.node_label("kendal-2", "gudang-07") == "gudang-07"
    assert p.node_label("demak-9", "n1") == "n1"
    assert p.address("demak-9") == "" and p.location("kendal-2", "x") == ""
    assert from_config(loads(BASE)).site_label("semarang-1") == "semarang-1"


def test_the_jinja_filters_render_labels() -> None:
    """``site_label`` and ``node_label`` work as filters, with the id as fallback."""
    env = jinja2.Environment(autoescape=True)
    env.filters.update(places().filters())
    t = env.from_string("{{ s|site_label }} / {{ s|node_label(n) }} / {{ 'x'|site_label }}")
    assert t.render(s="semarang-1", n="gudang-07") == "Gudang Bulog Kaligawe / Pintu utara / x"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[sites."Gudang A"]\nname = "a"\n', "sites.Gudang A"),
        ('[nodes."gudang-07"]\nname = "a"\n', "nodes.gudang-07"),
        ('[nodes."a/b/c"]\nname = "a"\n', "nodes.a/b/c"),
        ('[sites.a]\nname = "a"\nregncy = "Kota"\n', "did you mean 'regency'"),
        ('[sites.a]\nname = ""\n', "sites.a.name: must not be empty"),
        ('[sites.a]\naddress = "x"\n', "sites.a.name"),
        ('[nodes."a/b"]\nname = "n"\nlocation = "' + "x" * 201 + '"\n', "at most 200"),
    ],
)
def test_bad_places_are_errors_naming_the_key(text: str, named: str) -> None:
    """A malformed key, an unknown field, an empty or too long value: an error naming it."""
    with pytest.raises(ConfigError) as err:
        loads(BASE + text)
    assert named in str(err.value)


def test_the_dashboard_registers_the_filters(tmp_path: Path) -> None:
    """The dashboard's templates have ``site_label`` and ``node_label``."""
    cfg = loads(BASE.replace("/tmp/r", str(tmp_path)) + PLACES)
    store = ReceiverStore(cfg.store_url, cfg.data_dir)
    try:
        env = Dashboard(cfg, store).templates.env
        out = env.from_string(
            "{{ 'semarang-1'|site_label }}|{{ 'semarang-1'|node_label('gudang-07') }}"
        )
        assert out.render() == "Gudang Bulog Kaligawe|Pintu utara"
    finally:
        store.close()


def test_the_documented_places_load() -> None:
    """docs/receiver.md's ``[sites]``/``[nodes]`` block is a valid receiver config whose
    names the labels show."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "receiver.md").read_text()
    marker = "<!-- tests/receiver/test_places.py loads this block -->"
    block = doc.split(marker, 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    p = from_config(loads(BASE + block))
    assert p.site_label("semarang-gudang-utara") == "Gudang Bulog Kaligawe"
    assert p.regency("semarang-gudang-utara") == "Kota Semarang"
    assert p.node_label("semarang-gudang-utara", "gudang-kpu-semarang-01") == (
        "Pintu bongkar muat utara"
    )
