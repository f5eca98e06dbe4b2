"""Sites and nodes as people know them: a display name, an address and the kabupaten/kota
(regency or city) a warehouse lies in, from the receiver config's ``[sites."SITE"]`` and
``[nodes."SITE/NODE"]`` tables. Everything falls back to the id, so an unnamed node still
shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import Field, StringConstraints

from edge.config.base import Section

ID_PATTERN = r"[a-z0-9][a-z0-9_-]{0,62}"
"""A site or node id (as the topics carry it: edge.receiver.validate.NAME)."""
SiteKey = Annotated[str, StringConstraints(pattern=rf"^{ID_PATTERN}$")]
"""A ``[sites."SITE"]`` key."""
NodeKey = Annotated[str, StringConstraints(pattern=rf"^{ID_PATTERN}/{ID_PATTERN}$")]
"""A ``[nodes."SITE/NODE"]`` key."""


class SitePlace(Section):
    """One warehouse (``[sites."SITE"]``)."""

    name: str = Field(
        min_length=1, max_length=120, description="Display name, e.g. 'Gudang Bulog Kaligawe'."
    )
    address: str = Field(
        default="", max_length=300, description="Street address, shown under the name."
    )
    regency: str = Field(
        default="",
        max_length=120,
        description="Kabupaten/kota the warehouse lies in (e.g. 'Kota Semarang'); the fleet "
        "board groups by it. Empty: grouped under 'unknown'.",
    )


class NodePlace(Section):
    """One node (``[nodes."SITE/NODE"]``)."""

    name: str = Field(min_length=1, max_length=120, description="Display name, e.g. 'Pintu utara'.")
    location: str = Field(
        default="", max_length=200, description="Where in the warehouse the node hangs."
    )


SITES_FIELD: dict[str, SitePlace] = Field(
    default_factory=dict,
    max_length=10_000,
    description='Display names of warehouses: [sites."SITE"] name, address, regency '
    "(kabupaten/kota). Sites not named show their id.",
)
NODES_FIELD: dict[str, NodePlace] = Field(
    default_factory=dict,
    max_length=100_000,
    description='Display names of nodes: [nodes."SITE/NODE"] name, location. Nodes not '
    "named show their id.",
)


@dataclass(frozen=True)
class Places:
    """Lookups of display names; ids are the fallback everywhere."""

    sites: Mapping[str, SitePlace] = field(default_factory=dict)
    nodes: Mapping[str, NodePlace] = field(default_factory=dict)

    def site_label(self, site: object) -> str:
        """The site's display name, or its id."""
        s = self.sites.get(str(site))
        return s.name if s else str(site)

    def node_label(self, site: object, node: object) -> str:
        """The node's display name, or its id."""
        n = self.nodes.get(f"{site}/{node}")
        return n.name if n else str(node)

    def regency(self, site: object) -> str:
        """The site's kabupaten/kota, or ``""`` when not configured."""
        s = self.sites.get(str(site))
        return s.regency if s else ""

    def address(self, site: object) -> str:
        """The site's address, or ``""``."""
        s = self.sites.get(str(site))
        return s.address if s else ""

    def location(self, site: object, node: object) -> str:
        """Where the node hangs, or ``""``."""
        n = self.nodes.get(f"{site}/{node}")
        return n.location if n else ""

    def filters(self) -> dict[str, object]:
        """The Jinja filters ``site_label`` and ``node_label`` (plus ``regency``)."""
        return {"site_label": self.site_label, "node_label": self.node_label,
                "regency": self.regency}  # fmt: skip


def from_config(cfg: object) -> Places:
    """The :class:`Places` of a receiver config (its ``sites`` and ``nodes`` tables)."""
    return Places(sites=getattr(cfg, "sites", {}) or {}, nodes=getattr(cfg, "nodes", {}) or {})
