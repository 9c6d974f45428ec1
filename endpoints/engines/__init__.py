"""Django-free database connectors, one package per engine (see DESIGN.md).

`get_engine(name)` loads an engine lazily from the registry, so a machine
without an ODBC driver can still run PostgreSQL and MySQL tasks.
"""

from .registry import ENGINES, EngineSpec, engine_spec, get_engine

__all__ = ["ENGINES", "EngineSpec", "engine_spec", "get_engine"]
