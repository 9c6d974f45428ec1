"""Engines by name, loaded lazily from dotted paths."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from .errors import EngineError, ErrorKind

if TYPE_CHECKING:
    from .base import Engine


@dataclass(frozen=True)
class EngineSpec:
    name: str
    label: str
    path: str | None  # None: listed but not yet supported
    default_port: int
    url_schemes: tuple[str, ...]


ENGINES: dict[str, EngineSpec] = {
    spec.name: spec
    for spec in (
        EngineSpec("postgres", "PostgreSQL", "endpoints.engines.postgres.PostgresEngine", 5432,
                   ("postgresql", "postgres")),
        EngineSpec("mysql", "MySQL", "endpoints.engines.mysql.MySQLEngine", 3306, ("mysql",)),
        EngineSpec("mariadb", "MariaDB", "endpoints.engines.mysql.MySQLEngine", 3306, ("mariadb",)),
        EngineSpec("sqlserver", "Microsoft SQL Server", "endpoints.engines.sqlserver.SqlServerEngine", 1433,
                   ("mssql", "sqlserver")),
        EngineSpec("oracle", "Oracle (not yet supported)", None, 1521, ("oracle",)),
    )
}


def engine_spec(name: str) -> EngineSpec:
    try:
        return ENGINES[name]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise EngineError(f"Unknown engine {name!r}: use one of {known}.", kind=ErrorKind.UNSUPPORTED) from None


def engine_for_scheme(scheme: str) -> EngineSpec:
    for spec in ENGINES.values():
        if scheme in spec.url_schemes:
            return spec
    schemes = ", ".join(s for spec in ENGINES.values() for s in spec.url_schemes)
    raise EngineError(f"Unknown URL scheme {scheme!r}: use one of {schemes}.", kind=ErrorKind.UNSUPPORTED)


def get_engine(name: str) -> type[Engine]:
    spec = engine_spec(name)
    if spec.path is None:
        raise EngineError(f"{spec.label}: this engine is not supported yet.", kind=ErrorKind.UNSUPPORTED)
    module_name, _, attr = spec.path.rpartition(".")
    return getattr(import_module(module_name), attr)
