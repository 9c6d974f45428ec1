"""The rules of a table-mapping document, checked and typed.

Made by `mapping_document.parse_table_mappings`; consumed by the planner. Each rule
keeps where it came from (`rules[i]`, rule-id, rule-name) so problems found later,
against the source catalog, still name the rule and the JSON field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from endpoints.engines.catalog import SourceTable
from endpoints.engines.plan import ColumnFilter, Expression
from endpoints.engines.types import DmsType, T

from .problems import Problem, RuleRef
from .wildcards import NamePattern


@dataclass(frozen=True)
class RuleInfo:
    index: int  # position in the document's rules array
    rule_id: str
    number: int  # rule-id as a number: the lower one wins
    name: str

    @property
    def path(self) -> str:
        return f"rules[{self.index}]"

    @property
    def ref(self) -> RuleRef:
        return RuleRef(self.rule_id, self.name)


@dataclass(frozen=True)
class LocatedFilter:
    filter: ColumnFilter
    path: str  # rules[i].filters[j], for problems found against the catalog


@dataclass(frozen=True)
class SelectionRule:
    info: RuleInfo
    action: str  # include | exclude | explicit
    schema: NamePattern
    table: NamePattern
    table_type: str = "table"  # table | view | all
    load_order: int = 0
    filters: tuple[LocatedFilter, ...] = ()

    def matches(self, table: SourceTable) -> bool:
        if self.table_type != "all" and table.kind != self.table_type:
            return False
        if self.action == "explicit":
            return table.schema == self.schema.text and table.name == self.table.text
        return self.schema.matches(table.schema) and self.table.matches(table.name)


@dataclass(frozen=True)
class PrimaryKeyDef:
    name: str
    origin: str  # primary-key | unique-index
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TransformationRule:
    info: RuleInfo
    target: str  # schema | table | column
    action: str
    schema: NamePattern
    table: NamePattern | None = None
    column: NamePattern | None = None
    column_type: T | None = None  # object-locator.data-type: match columns of this DMS type
    value: str | None = None
    old_value: str | None = None
    data_type: DmsType | None = None
    expression: Expression | None = None
    primary_key: PrimaryKeyDef | None = None

    def matches_table(self, table: SourceTable) -> bool:
        return self.schema.matches(table.schema) and (self.table is None or self.table.matches(table.name))


@dataclass(frozen=True)
class ParallelLoad:
    kind: str  # ranges | partitions-auto | none
    columns: tuple[str, ...] = ()
    boundaries: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class LobRule:
    mode: str  # limited | unlimited | none
    bulk_max_size: int | None = None  # KB


@dataclass(frozen=True)
class TableSettingsRule:
    info: RuleInfo
    schema: str
    table: str
    parallel_load: ParallelLoad | None = None
    lob: LobRule | None = None


@dataclass
class TableMappings:
    selections: list[SelectionRule] = field(default_factory=list)
    transformations: list[TransformationRule] = field(default_factory=list)
    table_settings: list[TableSettingsRule] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors
