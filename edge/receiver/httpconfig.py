"""The receiver config's ``[http]`` section: the dashboard's listener, TLS, logins and the
sliding session of wall-monitor mode (see :mod:`edge.receiver.web.sessions`)."""

from __future__ import annotations

from pydantic import Field, model_validator

from edge.config.base import Section

DAY = 86400


class HttpSection(Section):
    """The dashboard (``edge receive --http HOST:PORT``)."""

    bind: str = Field(
        default="127.0.0.1:8080",
        pattern=r"^\[?[0-9A-Za-z.:_-]+\]?:[0-9]{1,5}$",
        description="HOST:PORT the dashboard listens on (localhost unless set otherwise).",
    )
    tls_cert: str | None = Field(default=None, description="PEM certificate: serve HTTPS.")
    tls_key: str | None = Field(default=None, description="PEM key of tls_cert.")
    session_lifetime_s: int = Field(
        default=12 * 3600,
        ge=60,
        le=30 * DAY,
        description="A login lasts at least this long; an open, live console page renews "
        "it beyond that (idle_limit_s at a time, up to session_max_s).",
    )
    idle_limit_s: int = Field(
        default=1800,
        ge=120,
        le=DAY,
        description="How long a renewal keeps the session past it. The console renews it "
        "while open and live, so once the page is closed (or its stream down) the session ends "
        "this long after its last renewal, or at the end of the login's window if later.",
    )
    session_max_s: int = Field(
        default=7 * DAY,
        ge=3600,
        le=30 * DAY,
        description="No session outlives this from its login, however often renewed: then "
        "a new login.",
    )
    max_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Login tries one address has per lockout_s; also the wrong passwords "
        "(from at least 3 addresses) that lock an account for everyone.",
    )
    lockout_s: int = Field(
        default=900,
        ge=1,
        le=DAY,
        description="An address's window of tries, and how long a locked account stays locked.",
    )
    board_refresh_s: float = Field(
        default=2.0, ge=0.2, le=60, description="How often an open fleet board refreshes."
    )

    @model_validator(mode="after")
    def _pair(self) -> HttpSection:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("http: tls_cert and tls_key go together")
        explicit = "session_max_s" in self.model_fields_set  # the default yields (see cap_s)
        if explicit and self.session_max_s < max(self.session_lifetime_s, self.idle_limit_s):
            raise ValueError(
                f"http: session_max_s ({self.session_max_s}) must be at least "
                f"session_lifetime_s ({self.session_lifetime_s}) and idle_limit_s "
                f"({self.idle_limit_s})"
            )
        return self

    @property
    def tls(self) -> bool:
        """Served over HTTPS (cookies are then Secure)."""
        return self.tls_cert is not None

    @property
    def session_cap_s(self) -> int:
        """The absolute cap in use: session_max_s, or a longer session_lifetime_s when
        session_max_s is left at its default (a config from before the cap still loads)."""
        return max(self.session_max_s, self.session_lifetime_s, self.idle_limit_s)
