"""Transformation rules: renaming, case, prefixes and suffixes, columns added, removed,
re-typed, and keys defined. Actions DMS offers only for other kinds of targets are
refused with the reason, never ignored."""

from __future__ import annotations

from endpoints.engines.plan import Expression
from endpoints.engines.types import DmsType, T

from .expressions import ExpressionError, parse_expression
from .mapping_reader import Fields
from .mapping_rules import PrimaryKeyDef, RuleInfo, TransformationRule
from .problems import json_kind, one_of, show
from .wildcards import compile_pattern, has_percent

TRANSFORMATION_KEYS = ("rule-type", "rule-id", "rule-name", "rule-target", "object-locator", "rule-action", "value",
                       "old-value", "data-type", "expression", "primary-key-def", "before-image-def")
LOCATOR_KEYS = ("schema-name", "table-name", "column-name", "data-type")
NAME_ACTIONS = ("rename", "convert-lowercase", "convert-uppercase", "add-prefix", "remove-prefix", "replace-prefix",
                "add-suffix", "remove-suffix", "replace-suffix")
ACTIONS: dict[str, tuple[str, ...]] = {
    "schema": NAME_ACTIONS,
    "table": NAME_ACTIONS + ("define-primary-key",),
    "column": NAME_ACTIONS + ("remove-column", "include-column", "add-column", "change-data-type"),
}
REFUSED_TARGETS = {
    "table-tablespace": "tablespace rules are for Oracle targets",
    "index-tablespace": "tablespace rules are for Oracle targets",
}
REFUSED_ACTIONS = {
    "add-before-image-columns": "before-image columns are for streaming targets (Kinesis, Kafka), not database "
                                "targets",
    "data-masking-digits-mask": "data masking is not implemented",
    "data-masking-digits-randomize": "data masking is not implemented",
    "data-masking-hash-mask": "data masking is not implemented",
}
# The optional keys each action reads; the others are warned about when set.
USES: dict[str, tuple[str, ...]] = {
    "rename": ("value",), "add-prefix": ("value",), "remove-prefix": ("value",), "add-suffix": ("value",),
    "remove-suffix": ("value",), "replace-prefix": ("value", "old-value"), "replace-suffix": ("value", "old-value"),
    "add-column": ("value", "data-type", "expression"), "change-data-type": ("data-type",),
    "define-primary-key": ("primary-key-def",),
}
OPTIONAL_KEYS = ("value", "old-value", "data-type", "primary-key-def", "before-image-def")
DATA_TYPES = tuple(t.value.lower() for t in T)
REFUSED_TYPES = {name: "it is for non-relational targets" for name in ("set", "list", "map", "tuple")}


def parse_transformation(fields: Fields, info: RuleInfo | None) -> TransformationRule | None:
    fields.unknown_keys(TRANSFORMATION_KEYS, "a transformation rule")
    target = fields.choice("rule-target", tuple(ACTIONS), refused=REFUSED_TARGETS)
    action = _action(fields, target)
    locator = fields.child("object-locator", "an object with schema-name (and table-name, column-name as the "
                           "rule-target needs)")
    names = _locator(locator, target, action) if locator is not None else None
    if action is None:
        return None
    fields.unused_keys(OPTIONAL_KEYS, action, USES.get(action, ()))
    if fields.has("expression") and action != "add-column":
        fields.error("expression", f"is used only by add-column; {action} by expression is not supported")
    value = _value(fields, action)
    old_value = _old_value(fields, action)
    data_type = _data_type(fields, action)
    expression = _expression(fields) if action == "add-column" else None
    primary_key = _primary_key(fields) if action == "define-primary-key" else None
    if info is None or target is None or names is None:
        return None
    schema, table, column, column_type = names
    return TransformationRule(info, target, action, schema, table, column, column_type, value, old_value, data_type,
                              expression, primary_key)


def _action(fields: Fields, target: str | None) -> str | None:
    everything = tuple(dict.fromkeys(a for actions in ACTIONS.values() for a in actions))
    allowed = ACTIONS.get(target or "", everything)
    value = fields.raw("rule-action")
    if isinstance(value, str) and value in REFUSED_ACTIONS:
        fields.error("rule-action", f"{show(value)} is not supported: {REFUSED_ACTIONS[value]}")
        return None
    if isinstance(value, str) and target in ACTIONS and value in everything and value not in allowed:
        fields.error("rule-action", f"{show(value)} does not apply to rule-target {target}; allowed for {target}: "
                     f"{one_of(allowed)}")
        return None
    action = fields.choice("rule-action", allowed)
    return action if target in ACTIONS else None


def _locator(locator: Fields, target: str | None, action: str | None) -> tuple | None:
    locator.unknown_keys(LOCATOR_KEYS, "a transformation object-locator")
    pattern = "(% any run, _ one character)"
    schema = locator.text("schema-name", f"a schema name or pattern {pattern}")
    table = column = column_type = None
    if target is None or action is None:
        return None  # what the locator needs depends on them; their own errors are reported
    needs_table = target in ("table", "column")
    if needs_table:
        table = locator.text("table-name", f"a table name or pattern {pattern}")
    elif locator.has("table-name") and locator.data["table-name"] != "%":
        locator.warn("table-name", "is not used by a rule-target schema rule; it is ignored")
    if target == "column" and action != "add-column":
        column = locator.text("column-name", f"a column name or pattern {pattern}")
        column_type = _column_type(locator)
    elif locator.has("column-name"):
        reason = "add-column adds the column named by value" if action == "add-column" else \
            f"a rule-target {target} rule matches no columns"
        locator.error("column-name", f"is not used: {reason}; allowed: no column-name")
    if locator.has("data-type") and (target != "column" or action == "add-column"):
        locator.error("data-type", "matches existing columns by type; allowed only in rule-target column rules "
                      "other than add-column")
    if action == "define-primary-key":
        for key, name in (("schema-name", schema), ("table-name", table)):
            if name is not None and has_percent(name):
                locator.error(key, f"{show(name)} has the % wildcard; allowed: the exact name (define-primary-key "
                              "defines the key of one table)")
                return None
    if schema is None or (needs_table and table is None) or (column is None and target == "column"
                                                              and action != "add-column"):
        return None
    return (compile_pattern(schema), table and compile_pattern(table), column and compile_pattern(column),
            column_type)


def _column_type(locator: Fields) -> T | None:
    name = locator.raw("data-type")
    if not locator.has("data-type"):
        return None
    if not isinstance(name, str) or name.lower() not in DATA_TYPES:
        locator.error("data-type", f"got {show(name)}; allowed: a DMS type name, one of {one_of(DATA_TYPES)}")
        return None
    return T(name.upper())


def _value(fields: Fields, action: str) -> str | None:
    if "value" not in USES.get(action, ()):
        return None
    wanted = {
        "rename": "the new name", "add-column": "the name of the new column",
        "add-prefix": "the prefix to add", "remove-prefix": "the prefix to remove",
        "replace-prefix": "the new prefix", "add-suffix": "the suffix to add",
        "remove-suffix": "the suffix to remove", "replace-suffix": "the new suffix",
    }[action]
    allow_empty = action in ("replace-prefix", "replace-suffix")  # replacing with nothing removes it
    return fields.text("value", f"{wanted} (a non-empty string)" if not allow_empty else f"{wanted} (a string)",
                       allow_empty=allow_empty)


def _old_value(fields: Fields, action: str) -> str | None:
    if action not in ("replace-prefix", "replace-suffix"):
        return None
    part = "prefix" if action == "replace-prefix" else "suffix"
    return fields.text("old-value", f"the {part} to replace (a non-empty string)")


def _data_type(fields: Fields, action: str) -> DmsType | None:
    if action not in ("add-column", "change-data-type"):
        return None
    spec = fields.child("data-type", '{"type": <DMS type>, "length": n, "precision": p, "scale": s}')
    if spec is None:
        return None
    spec.unknown_keys(("type", "length", "precision", "scale"), "data-type")
    name = _type_name(spec)
    length = _size(spec, "length", "a length of at least 1, e.g. 50", low=1)
    precision = _size(spec, "precision", "a precision from 1 to 38", low=1, high=38)
    scale = _size(spec, "scale", "a scale of at least 0", low=0)
    if name is None:
        return None
    kind = T(name.upper())
    if kind is T.NUMERIC:
        if precision is not None and scale is not None and scale > precision:
            spec.error("scale", f"got {scale}, more than precision {precision}; allowed: a scale from 0 to "
                       f"{precision}")
            return None
        return DmsType(kind, precision=precision, scale=scale if scale is not None else (0 if precision else None))
    if kind in (T.DATETIME, T.TIME):
        fraction = scale if scale is not None else precision
        if fraction is not None and fraction > 9:
            spec.error("scale" if scale is not None else "precision",
                       f"got {fraction}; allowed: fractional-second digits from 0 to 9")
            return None
        return DmsType(kind, scale=fraction)
    if kind in (T.STRING, T.WSTRING, T.BYTES):
        return DmsType(kind, length=length)
    return DmsType(kind)


def _type_name(spec: Fields) -> str | None:
    value = spec.raw("type")
    if isinstance(value, str) and value.lower() in DATA_TYPES:  # DMS writes lower case; any case is the same type
        return value.lower()
    return spec.choice("type", DATA_TYPES, refused=REFUSED_TYPES)


def _size(spec: Fields, key: str, allowed: str, *, low: int, high: int | None = None) -> int | None:
    if spec.data.get(key) == "":  # DMS's own example writes "scale": ""
        return None
    number = spec.integer(key, allowed, low=low)
    if number is not None and high is not None and number > high:
        spec.error(key, f"got {number}; allowed: {allowed}")
        return None
    return number


def _expression(fields: Fields) -> Expression | None:
    value = fields.raw("expression")
    if not fields.has("expression"):
        return None
    if not isinstance(value, str):
        fields.error("expression", f"got {show(value)} ({json_kind(value)}); allowed: a SQLite expression such as "
                     "$FIRST_NAME||' '||$LAST_NAME")
        return None
    try:
        return parse_expression(value)
    except ExpressionError as exc:
        message = str(exc)
        if "supported" not in message:
            message += "; allowed: an expression such as $FIRST_NAME||' '||$LAST_NAME"
        fields.error("expression", message)
        return None


def _primary_key(fields: Fields) -> PrimaryKeyDef | None:
    spec = fields.child("primary-key-def", '{"name": ..., "origin": "primary-key" | "unique-index", '
                        '"columns": [...]}')
    if spec is None:
        return None
    spec.unknown_keys(("name", "origin", "columns"), "primary-key-def")
    name = spec.text("name", "the name of the primary key or unique index")
    origin = spec.choice("origin", ("primary-key", "unique-index"), required=False, default="primary-key")
    columns = spec.array("columns", "a non-empty array of column names, in key order")
    if columns is None:
        return None
    good = []
    for index, column in enumerate(columns):
        if not isinstance(column, str) or not column:
            spec.problems.error(f"{spec.path_of('columns')}[{index}]", f"got {show(column)}; allowed: a column name",
                                spec.rule)
        elif column in good:
            spec.problems.error(f"{spec.path_of('columns')}[{index}]", f"{show(column)} is listed twice; allowed: "
                                "each key column once", spec.rule)
        else:
            good.append(column)
    if name is None or origin is None or len(good) != len(columns):
        return None
    return PrimaryKeyDef(name, origin, tuple(good))
