"""Connection details for one endpoint, from the console's model or from a URL.

URLs: postgresql://user:pass@host:port/db, mysql://..., mariadb://..., mssql://...
Query parameters become extra connection attributes (sslmode is the SSL mode).
The password never appears in repr() or in `redacted()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, quote, unquote, urlparse

from .errors import EngineError, ErrorKind
from .registry import engine_for_scheme, engine_spec

SSL_MODES = ("none", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class ConnectionInfo:
    engine: str
    host: str
    port: int
    database: str
    username: str
    password: str = field(default="", repr=False)
    ssl_mode: str = "none"
    extra: dict[str, str] = field(default_factory=dict)  # extra connection attributes (DMS key=value;...)
    ca_certificate: str = field(default="", repr=False)  # PEM text for verify-ca / verify-full

    @classmethod
    def from_url(cls, url: str) -> ConnectionInfo:
        parsed = urlparse(url)
        if not parsed.scheme:
            raise EngineError(f"{url!r} is not a connection URL: use e.g. postgresql://user:pass@host:5432/db.",
                              kind=ErrorKind.CONFIGURATION)
        spec = engine_for_scheme(parsed.scheme)
        params = dict(parse_qsl(parsed.query, keep_blank_values=True))
        ssl_mode = params.pop("sslmode", params.pop("ssl_mode", "none"))
        if ssl_mode == "disable":
            ssl_mode = "none"
        if ssl_mode not in SSL_MODES:
            raise EngineError(f"sslmode={ssl_mode!r} is not supported: use one of {', '.join(SSL_MODES)}.",
                              kind=ErrorKind.CONFIGURATION)
        try:
            port = parsed.port or spec.default_port
        except ValueError:
            raise EngineError(f"The port in {redact_url(url)!r} is not a number.",
                              kind=ErrorKind.CONFIGURATION) from None
        return cls(
            engine=spec.name,
            host=parsed.hostname or "127.0.0.1",
            port=port,
            database=unquote(parsed.path.lstrip("/")),
            username=unquote(parsed.username or ""),
            password=unquote(parsed.password or ""),
            ssl_mode=ssl_mode,
            extra=params,
        )

    def with_database(self, database: str) -> ConnectionInfo:
        return replace(self, database=database)

    def to_url(self) -> str:
        scheme = engine_spec(self.engine).url_schemes[0]
        auth = quote(self.username, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        query = "&".join(f"{quote(k)}={quote(v)}" for k, v in self.extra.items())
        if self.ssl_mode != "none":
            query = f"sslmode={self.ssl_mode}" + ("&" + query if query else "")
        return f"{scheme}://{auth}@{self.host}:{self.port}/{quote(self.database)}" + (f"?{query}" if query else "")

    def redacted(self) -> str:
        return redact_url(self.to_url())

    def flag(self, name: str, default: bool = False) -> bool:
        """An extra connection attribute read as a boolean (DMS writes Y/N or true/false)."""
        value = _lookup(self.extra, name)
        if value is None:
            return default
        return value.strip().lower() in {"y", "yes", "true", "1", "on"}

    def attr(self, name: str, default: str | None = None) -> str | None:
        value = _lookup(self.extra, name)
        return default if value is None else value


def _lookup(extra: Mapping[str, str], name: str) -> str | None:
    # DMS attribute names are case-insensitive in practice (slotName, SlotName).
    lowered = name.lower()
    for key, value in extra.items():
        if key.lower() == lowered:
            return value
    return None


def redact_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(":" + parsed.password + "@", ":***@", 1)
    return url


def parse_extra_connection_attributes(text: str, allowed: Mapping[str, str]) -> dict[str, str]:
    """Parse DMS's `key=value;key=value` syntax, checking keys against what the engine accepts.

    Raises ValueError naming every problem (unknown keys listed with what is allowed)."""
    result: dict[str, str] = {}
    problems: list[str] = []
    allowed_lower = {k.lower(): k for k in allowed}
    for index, part in enumerate(p for p in text.split(";") if p.strip()):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"item {index + 1} ({part.strip()!r}) is not key=value")
            continue
        canonical = allowed_lower.get(key.lower())
        if canonical is None:
            problems.append(f"unknown attribute {key!r}")
            continue
        if canonical in result:
            problems.append(f"attribute {key!r} is given twice")
            continue
        result[canonical] = value.strip()
    if problems:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise ValueError("; ".join(problems) + f". Accepted attributes for this engine: {accepted}.")
    return result
