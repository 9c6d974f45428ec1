"""Malformed table-mapping documents, each with every error message it must produce.

One entry per mistake a user makes; `test_mapping_corpus.py` checks them all. Most
documents are a valid selection rule plus one broken rule, built by the helpers here.
"""

from __future__ import annotations

from typing import Any

SELECT = {"rule-type": "selection", "rule-id": "1", "rule-name": "all",
          "object-locator": {"schema-name": "hr", "table-name": "%"}, "rule-action": "include"}


def rule(rule_type: str, rule_id: str = "2", name: str = "r2", **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"rule-type": rule_type, "rule-id": rule_id, "rule-name": name}
    out.update({key.replace("_", "-"): value for key, value in fields.items()})
    return out


def selection(**fields: Any) -> dict[str, Any]:
    base = {"object_locator": {"schema-name": "hr", "table-name": "emp"}, "rule_action": "include"}
    return rule("selection", **{**base, **fields})


def column_rule(action: str, **fields: Any) -> dict[str, Any]:
    base = {"rule_target": "column", "rule_action": action,
            "object_locator": {"schema-name": "hr", "table-name": "emp", "column-name": "name"}}
    return rule("transformation", **{**base, **fields})


def table_rule(action: str, **fields: Any) -> dict[str, Any]:
    base = {"rule_target": "table", "rule_action": action,
            "object_locator": {"schema-name": "hr", "table-name": "emp"}}
    return rule("transformation", **{**base, **fields})


def settings_rule(**fields: Any) -> dict[str, Any]:
    base = {"object_locator": {"schema-name": "hr", "table-name": "emp"}}
    return rule("table-settings", **{**base, **fields})


def doc(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"rules": [SELECT, *rules]}


def condition_filter(*conditions: dict[str, Any], column: str = "id") -> list[dict[str, Any]]:
    return [{"filter-type": "source", "column-name": column, "filter-conditions": list(conditions)}]


R2 = '(rule-id "2", rule-name "r2")'
ALL_ACTIONS = ("rename, convert-lowercase, convert-uppercase, add-prefix, remove-prefix, replace-prefix, add-suffix, "
               "remove-suffix, replace-suffix")
COLUMN_ACTIONS = ALL_ACTIONS + ", remove-column, include-column, add-column, change-data-type"
TABLE_ACTIONS = ALL_ACTIONS + ", define-primary-key"
DMS_TYPES = ("boolean, bytes, date, time, datetime, int1, int2, int4, int8, numeric, real4, real8, string, wstring, "
             "uint1, uint2, uint4, uint8, blob, clob, nclob")
NOT_SUPPORTED_LIST = ("||, + - * / %, comparisons, AND, OR, NOT, IS [NOT] NULL, CASE and the functions abs, coalesce, "
                      "date, datetime, ifnull, instr, length, lower, ltrim, nullif, replace, round, rtrim, substr, "
                      "trim, upper")

# (case id, document, every error it must produce, in order)
CORPUS: list[tuple[str, Any, list[str]]] = [
    ("not-json", '{"rules": [', [
        "(document): not valid JSON: Expecting value at line 1 column 12; allowed: a JSON object {\"rules\": [...]}"]),
    ("top-level-array", [SELECT], [
        '(document): got an array; allowed: a JSON object {"rules": [...]}']),
    ("rules-missing", {"Rules": [SELECT]}, [
        "rules: is missing; allowed: an array of rules with at least one selection rule"]),
    ("rules-not-array", {"rules": {"rule-type": "selection"}}, [
        'rules: got {"rule-type": "selection"} (an object); allowed: an array of rules']),
    ("no-selection-rule", {"rules": [table_rule("convert-lowercase")]}, [
        'rules: no selection rule; allowed: at least one rule with "rule-type": "selection"']),
    ("rule-not-object", doc("include everything"), [
        'rules[1]: got "include everything" (a string); allowed: a rule object with rule-type, rule-id and '
        'rule-name']),
    ("rule-type-unknown", doc(rule("selections", object_locator={"schema-name": "hr", "table-name": "%"},
                                   rule_action="include")), [
        f'rules[1].rule-type {R2}: got "selections"; allowed: selection, transformation, table-settings']),
    ("rule-type-object-mapping", doc(rule("object-mapping", rule_action="map-record-to-record")), [
        f'rules[1].rule-type {R2}: "object-mapping" is not supported: object-mapping rules are for DynamoDB, '
        'Kinesis and Kafka targets, not database targets; allowed: selection, transformation, table-settings']),
    ("rule-type-post-processing", doc(rule("post-processing", rule_action="add-tag")), [
        f'rules[1].rule-type {R2}: "post-processing" is not supported: post-processing rules are for Amazon S3 '
        'targets, not database targets; allowed: selection, transformation, table-settings']),
    ("rule-id-missing", doc({**selection(), "rule-id": None}), [
        'rules[1].rule-id (rule-id missing, rule-name "r2"): is missing; allowed: a numeric string such as "1", '
        'unique in the document']),
    ("rule-id-number", doc({**selection(), "rule-id": 2}), [
        f'rules[1].rule-id {R2}: got 2 (a number); allowed: a numeric string such as "1", unique in the document']),
    ("rule-id-not-numeric", doc({**selection(), "rule-id": "two"}), [
        'rules[1].rule-id (rule-id "two", rule-name "r2"): got "two"; allowed: a numeric string such as "1", unique '
        'in the document']),
    ("rule-id-duplicate", doc({**selection(), "rule-id": "1"}), [
        'rules[1].rule-id (rule-id "1", rule-name "r2"): "1" is already the rule-id of rules[0]; allowed: a rule-id '
        'used once']),
    ("rule-id-same-number", doc({**selection(), "rule-id": "001"}), [
        'rules[1].rule-id (rule-id "001", rule-name "r2"): "001" has the same number as "1", the rule-id of '
        'rules[0]; allowed: a rule-id used once']),
    ("rule-name-missing", doc({**selection(), "rule-name": ""}), [
        'rules[1].rule-name (rule-id "2", rule-name ""): got ""; allowed: a non-empty string, unique in the '
        'document']),
    ("rule-name-duplicate", doc({**selection(), "rule-name": "all"}), [
        'rules[1].rule-name (rule-id "2", rule-name "all"): "all" is already the rule-name of rules[0]; allowed: a '
        'rule-name used once']),
    ("selection-action-unknown", doc(selection(rule_action="add")), [
        f'rules[1].rule-action {R2}: got "add"; allowed: include, exclude, explicit']),
    ("selection-locator-missing", doc(selection(object_locator=None)), [
        f"rules[1].object-locator {R2}: is missing; allowed: an object with schema-name and table-name (% and _ are "
        "wildcards)"]),
    ("selection-table-name-missing", doc(selection(object_locator={"schema-name": "hr"})), [
        f"rules[1].object-locator.table-name {R2}: is missing; allowed: a table name or pattern (% any run, _ one "
        "character)"]),
    ("selection-table-type-unknown",
     doc(selection(object_locator={"schema-name": "hr", "table-name": "v%", "table-type": "views"})), [
        f'rules[1].object-locator.table-type {R2}: got "views"; allowed: table, view, all']),
    ("explicit-with-wildcard",
     doc(selection(rule_action="explicit", object_locator={"schema-name": "h%", "table-name": "emp%"})), [
        f'rules[1].object-locator.schema-name {R2}: "h%" has the % wildcard, but an explicit selection names '
        'exactly one object; allowed: an exact schema name',
        f'rules[1].object-locator.table-name {R2}: "emp%" has the % wildcard, but an explicit selection names '
        'exactly one object; allowed: an exact table name']),
    ("load-order-not-integer", doc(selection(load_order="first")), [
        f'rules[1].load-order {R2}: got "first"; allowed: an integer; tables with a higher load-order load first']),
    ("filters-on-exclude", doc(selection(rule_action="exclude", filters=condition_filter(
        {"filter-operator": "eq", "value": "1"}))), [
        f"rules[1].filters {R2}: an exclude rule selects no rows to filter; allowed: filters in include or explicit "
        "selection rules only"]),
    ("filter-type-target", doc(selection(filters=[{"filter-type": "target", "column-name": "id",
                                                   "filter-conditions": [{"filter-operator": "eq", "value": "1"}]}])), [
        f'rules[1].filters[0].filter-type {R2}: got "target"; allowed: source']),
    ("filter-operator-unknown", doc(selection(filters=condition_filter({"filter-operator": "like", "value": "a%"}))), [
        f'rules[1].filters[0].filter-conditions[0].filter-operator {R2}: got "like"; allowed: eq, noteq, lte, ste, '
        'gte, between, notbetween, null, notnull']),
    ("between-without-end", doc(selection(filters=condition_filter({"filter-operator": "between",
                                                                    "start-value": "1"}))), [
        f"rules[1].filters[0].filter-conditions[0].end-value {R2}: is missing; between needs start-value and "
        'end-value; allowed: a string such as "10", "tech" or "2024-01-31"']),
    ("eq-with-start-value", doc(selection(filters=condition_filter({"filter-operator": "eq", "value": "1",
                                                                    "start-value": "0"}))), [
        f"rules[1].filters[0].filter-conditions[0].start-value {R2}: is not used by eq; allowed keys for eq: "
        "filter-operator, value"]),
    ("null-with-value", doc(selection(filters=condition_filter({"filter-operator": "null", "value": "x"}))), [
        f"rules[1].filters[0].filter-conditions[0].value {R2}: is not used by null; allowed keys for null: "
        "filter-operator"]),
    ("noteq-with-two-conditions", doc(selection(filters=condition_filter(
        {"filter-operator": "noteq", "value": "1"}, {"filter-operator": "eq", "value": "5"}))), [
        f"rules[1].filters[0].filter-conditions {R2}: noteq allows only one condition in its filter, got 2; "
        "allowed: one condition in a filter that uses noteq, notbetween or notnull (put other conditions in "
        "another filter)"]),
    ("filter-value-array", doc(selection(filters=condition_filter({"filter-operator": "eq", "value": ["1"]}))), [
        f'rules[1].filters[0].filter-conditions[0].value {R2}: got ["1"] (an array); allowed: a string such as '
        '"10", "tech" or "2024-01-31"']),
    ("filter-conditions-empty", doc(selection(filters=condition_filter())), [
        f'rules[1].filters[0].filter-conditions {R2}: got []; allowed: a non-empty array of {{"filter-operator": '
        '..., "value": ...}']),
    ("selection-unknown-key", doc(selection(filter=[])), [
        f"rules[1].filter {R2}: is not a key of a selection rule; allowed: rule-type, rule-id, rule-name, "
        "rule-action, object-locator, load-order, filters"]),
    ("target-unknown", doc(column_rule("rename", rule_target="row", value="n")), [
        f'rules[1].rule-target {R2}: got "row"; allowed: schema, table, column']),
    ("target-tablespace", doc(column_rule("rename", rule_target="table-tablespace", value="n")), [
        f'rules[1].rule-target {R2}: "table-tablespace" is not supported: tablespace rules are for Oracle targets; '
        'allowed: schema, table, column']),
    ("action-misspelt", doc(column_rule("renamee", value="n")), [
        f'rules[1].rule-action {R2}: got "renamee"; allowed: {COLUMN_ACTIONS}']),
    ("action-wrong-target", doc(table_rule("remove-column")), [
        f'rules[1].rule-action {R2}: "remove-column" does not apply to rule-target table; allowed for table: '
        f'{TABLE_ACTIONS}']),
    ("change-data-type-on-table", doc(table_rule("change-data-type", data_type={"type": "int8"})), [
        f'rules[1].rule-action {R2}: "change-data-type" does not apply to rule-target table; allowed for table: '
        f'{TABLE_ACTIONS}']),
    ("before-image-columns", doc(column_rule("add-before-image-columns", object_locator={
        "schema-name": "%", "table-name": "emp"}, before_image_def={"column-prefix": "BI_"})), [
        f'rules[1].rule-action {R2}: "add-before-image-columns" is not supported: before-image columns are for '
        'streaming targets (Kinesis, Kafka), not database targets']),
    ("data-masking", doc(column_rule("data-masking-hash-mask")), [
        f'rules[1].rule-action {R2}: "data-masking-hash-mask" is not supported: data masking is not implemented']),
    ("rename-without-value", doc(column_rule("rename")), [
        f"rules[1].value {R2}: is missing; allowed: the new name (a non-empty string)"]),
    ("replace-prefix-without-old-value", doc(table_rule("replace-prefix", value="new_")), [
        f"rules[1].old-value {R2}: is missing; allowed: the prefix to replace (a non-empty string)"]),
    ("column-rule-without-column-name", doc(column_rule("convert-uppercase", object_locator={
        "schema-name": "hr", "table-name": "emp"})), [
        f"rules[1].object-locator.column-name {R2}: is missing; allowed: a column name or pattern (% any run, _ one "
        "character)"]),
    ("add-column-without-data-type", doc(column_rule("add-column", value="created", object_locator={
        "schema-name": "hr", "table-name": "emp"})), [
        f'rules[1].data-type {R2}: is missing; allowed: {{"type": <DMS type>, "length": n, "precision": p, '
        '"scale": s}']),
    ("add-column-type-unknown", doc(column_rule("add-column", value="c", data_type={"type": "varchar"},
                                                object_locator={"schema-name": "hr", "table-name": "emp"})), [
        f'rules[1].data-type.type {R2}: got "varchar"; allowed: {DMS_TYPES}']),
    ("change-data-type-to-set", doc(column_rule("change-data-type", data_type={"type": "set"})), [
        f'rules[1].data-type.type {R2}: "set" is not supported: it is for non-relational targets; allowed: '
        f'{DMS_TYPES}']),
    ("numeric-scale-above-precision", doc(column_rule("change-data-type", data_type={
        "type": "numeric", "precision": 5, "scale": 7})), [
        f"rules[1].data-type.scale {R2}: got 7, more than precision 5; allowed: a scale from 0 to 5"]),
    ("numeric-precision-too-high", doc(column_rule("change-data-type", data_type={
        "type": "numeric", "precision": 39})), [
        f"rules[1].data-type.precision {R2}: got 39; allowed: a precision from 1 to 38"]),
    ("datetime-scale-too-high", doc(column_rule("change-data-type", data_type={"type": "datetime", "scale": 12})), [
        f"rules[1].data-type.scale {R2}: got 12; allowed: fractional-second digits from 0 to 9"]),
    ("primary-key-on-wildcard-table", doc(table_rule("define-primary-key", object_locator={
        "schema-name": "hr", "table-name": "%"}, primary_key_def={"name": "pk", "columns": ["id"]})), [
        f'rules[1].object-locator.table-name {R2}: "%" has the % wildcard; allowed: the exact name '
        '(define-primary-key defines the key of one table)']),
    ("primary-key-origin-unknown", doc(table_rule("define-primary-key", primary_key_def={
        "name": "pk", "origin": "index", "columns": ["id"]})), [
        f'rules[1].primary-key-def.origin {R2}: got "index"; allowed: primary-key, unique-index']),
    ("primary-key-without-columns", doc(table_rule("define-primary-key", primary_key_def={"name": "pk",
                                                                                           "columns": []})), [
        f"rules[1].primary-key-def.columns {R2}: got []; allowed: a non-empty array of column names, in key order"]),
    ("expression-operation-indicator", doc(column_rule(
        "add-column", value="op", data_type={"type": "string", "length": 1},
        expression="operation_indicator('D', 'U', 'I')", object_locator={"schema-name": "hr", "table-name": "emp"})), [
        f"rules[1].expression {R2}: operation_indicator() is not supported: this engine applies deletes and updates "
        "to the target instead of flagging rows"]),
    ("expression-header-column", doc(column_rule(
        "add-column", value="seq", data_type={"type": "string", "length": 35}, expression="$AR_H_CHANGE_SEQ",
        object_locator={"schema-name": "hr", "table-name": "emp"})), [
        f"rules[1].expression {R2}: $AR_H_CHANGE_SEQ is a change-header column, which is not supported: this engine "
        "does not expose DMS headers; supported metadata: $AR_M_SOURCE_SCHEMA, $AR_M_SOURCE_TABLE_NAME"]),
    ("expression-like", doc(column_rule(
        "add-column", value="is_a", data_type={"type": "int1"}, expression="$name LIKE 'A%'",
        object_locator={"schema-name": "hr", "table-name": "emp"})), [
        f"rules[1].expression {R2}: LIKE is not supported in add-column expressions; supported: "
        f"{NOT_SUPPORTED_LIST}"]),
    ("expression-syntax", doc(column_rule(
        "add-column", value="x", data_type={"type": "string"}, expression="upper($name",
        object_locator={"schema-name": "hr", "table-name": "emp"})), [
        f"rules[1].expression {R2}: expected ')' at the end of the expression; allowed: an expression such as "
        "$FIRST_NAME||' '||$LAST_NAME"]),
    ("rename-by-expression", doc(column_rule("rename", value="n", expression="upper($name)")), [
        f"rules[1].expression {R2}: is used only by add-column; rename by expression is not supported"]),
    ("add-column-with-column-name", doc(column_rule("add-column", value="c", data_type={"type": "int4"})), [
        f"rules[1].object-locator.column-name {R2}: is not used: add-column adds the column named by value; "
        "allowed: no column-name"]),
    ("locator-data-type-unknown", doc(column_rule("change-data-type", data_type={"type": "int8"}, object_locator={
        "schema-name": "hr", "table-name": "%", "column-name": "%", "data-type": "integer"})), [
        f'rules[1].object-locator.data-type {R2}: got "integer"; allowed: a DMS type name, one of {DMS_TYPES}']),
    ("transformation-unknown-key", doc(column_rule("rename", value="n", new_value="m")), [
        f"rules[1].new-value {R2}: is not a key of a transformation rule; allowed: rule-type, rule-id, rule-name, "
        "rule-target, object-locator, rule-action, value, old-value, data-type, expression, primary-key-def, "
        "before-image-def"]),
    ("table-settings-wildcard", doc(settings_rule(object_locator={"schema-name": "hr", "table-name": "SALES%"},
                                                  parallel_load={"type": "none"})), [
        f'rules[1].object-locator.table-name {R2}: Exact schema and table name required when using table settings '
        'rule; got "SALES%"; allowed: the exact name, without %']),
    ("parallel-load-partitions-list", doc(settings_rule(parallel_load={"type": "partitions-list",
                                                                       "partitions": ["p1"]})), [
        f'rules[1].parallel-load.type {R2}: "partitions-list" is not supported: this engine splits by key ranges or '
        'by every partition (partitions-auto), not by a list; allowed: ranges, partitions-auto, none']),
    ("ranges-too-many-columns", doc(settings_rule(parallel_load={
        "type": "ranges", "columns": [f"c{i}" for i in range(11)], "boundaries": [["1"] * 11]})), [
        f"rules[1].parallel-load.columns {R2}: got 11 columns; allowed: an array of 1 to 10 source column names"]),
    ("ranges-boundary-width", doc(settings_rule(parallel_load={
        "type": "ranges", "columns": ["SALES_NO", "REGION"], "boundaries": [["1000", "NORTH"], ["3000"]]})), [
        f"rules[1].parallel-load.boundaries[1] {R2}: has 1 value for 2 columns; allowed: one value per column "
        "(SALES_NO, REGION)"]),
    ("ranges-without-boundaries", doc(settings_rule(parallel_load={"type": "ranges", "columns": ["id"]})), [
        f"rules[1].parallel-load.boundaries {R2}: is missing; allowed: a non-empty array of boundaries, each an array "
        "with one value per column"]),
    ("lob-mode-unknown", doc(settings_rule(lob_settings={"mode": "full"})), [
        f'rules[1].lob-settings.mode {R2}: got "full"; allowed: limited, unlimited, none']),
    ("lob-size-negative", doc(settings_rule(lob_settings={"mode": "limited", "bulk-max-size": "-5"})), [
        f'rules[1].lob-settings.bulk-max-size {R2}: got "-5"; allowed: a size in KB: an integer of at least 0 (0 or '
        'absent with unlimited)']),
    ("several-mistakes-in-one-rule", doc(column_rule("rename", rule_target="columns", object_locator={
        "table-name": "emp"})), [
        f'rules[1].rule-target {R2}: got "columns"; allowed: schema, table, column',
        f"rules[1].object-locator.schema-name {R2}: is missing; allowed: a schema name or pattern (% any run, _ one "
        "character)"]),
    ("mistakes-in-several-rules", {"rules": [
        {**SELECT, "rule-action": "inclde"},
        table_rule("rename", rule_id="1", name="all"),
    ]}, [
        'rules[0].rule-action (rule-id "1", rule-name "all"): got "inclde"; allowed: include, exclude, explicit',
        'rules[1].rule-id (rule-id "1", rule-name "all"): "1" is already the rule-id of rules[0]; allowed: a rule-id '
        'used once',
        'rules[1].rule-name (rule-id "1", rule-name "all"): "all" is already the rule-name of rules[0]; allowed: a '
        'rule-name used once',
        'rules[1].value (rule-id "1", rule-name "all"): is missing; allowed: the new name (a non-empty string)']),
]
