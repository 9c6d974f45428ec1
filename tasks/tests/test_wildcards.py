"""DMS name patterns: examples, and properties against a small recursive matcher written here."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.engine.wildcards import compile_pattern, has_percent


def reference_match(pattern: str, name: str) -> bool:
    """An independent matcher: recursion over the pattern, one token at a time."""
    if not pattern:
        return not name
    head = pattern[0]
    if head == "%":
        return any(reference_match(pattern[1:], name[k:]) for k in range(len(name) + 1))
    if head == "_":
        return bool(name) and reference_match(pattern[1:], name[1:])
    if head == "[":
        close = pattern.find("]", 2)
        if close != -1:
            return bool(name) and in_class(pattern[1:close], name[0]) and reference_match(pattern[close + 1:], name[1:])
    return bool(name) and name[0] == head and reference_match(pattern[1:], name[1:])


def in_class(body: str, char: str) -> bool:
    if not body:
        return False
    if len(body) >= 3 and body[1] == "-" and body[0] <= body[2]:
        return body[0] <= char <= body[2] or in_class(body[3:], char)
    return char == body[0] or in_class(body[1:], char)


PATTERN_CHARS = st.sampled_from(list("ab_%[]-cA"))
NAME_CHARS = st.sampled_from(list("ab_%[]-cAz"))


@settings(max_examples=600)
@given(st.text(PATTERN_CHARS, max_size=8), st.text(NAME_CHARS, max_size=8))
def test_it_agrees_with_the_reference_matcher(pattern: str, name: str) -> None:
    assert compile_pattern(pattern).matches(name) == reference_match(pattern, name)


@given(st.text(st.characters(blacklist_characters="%_["), max_size=12))
def test_it_matches_a_name_without_wildcards_only_by_itself(name: str) -> None:
    pattern = compile_pattern(name)
    assert pattern.literal
    assert pattern.matches(name)
    assert not pattern.matches(name + "x")


@given(st.text(max_size=12))
def test_it_matches_everything_with_a_lone_percent(name: str) -> None:
    assert compile_pattern("%").matches(name)


@given(st.text(st.characters(blacklist_characters="%_["), max_size=6), st.text(max_size=6))
def test_it_matches_a_prefix_pattern_for_any_suffix(prefix: str, rest: str) -> None:
    assert compile_pattern(prefix + "%").matches(prefix + rest)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("%", "", True),
        ("DMS%", "DMS_ORDERS", True),
        ("DMS%", "dms_orders", False),  # case-sensitive
        ("%_log", "audit_log", True),
        ("%_log", "_log", True),  # `%` matches nothing, `_` matches the underscore
        ("%_log", "log", False),  # `_` needs a character before "log"
        ("a_c", "abc", True),
        ("a_c", "ac", False),
        ("a_c", "abbc", False),
        ("a[_]c", "a_c", True),
        ("a[_]c", "abc", False),
        ("t[ab]", "ta", True),
        ("t[ab]", "tb", True),
        ("t[ab]", "tc", False),
        ("t[a-d]", "tc", True),
        ("t[a-d]", "te", False),
        ("t[a-d]x", "tdx", True),
        ("t[%]", "t%", True),
        ("t[%]", "tx", False),
        ("t[-a]", "t-", True),
        ("t[a-]", "t-", True),
        ("t[d-a]", "t-", True),  # inverted: three literal members
        ("t[d-a]", "tb", False),
        ("t[", "t[", True),  # unclosed bracket is literal
        ("t[]", "t[]", True),  # empty brackets are literal
        ("t[]x]", "t]", True),  # a `]` right after `[` is a member
        ("[^a]", "^", True),  # no negation in DMS patterns
        ("[^a]", "b", False),
        ("a.b", "axb", False),  # regex characters are literal
        ("a+", "aa", False),
        ("line\nbreak%", "line\nbreak!", True),
        ("%%", "anything", True),
        ("x%y%z", "x123y456z", True),
        ("x%y%z", "x123z", False),
    ],
)
def test_it_matches_documented_examples(pattern: str, name: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(name) is expected


def test_it_reports_literal_patterns() -> None:
    assert compile_pattern("orders").literal
    assert not compile_pattern("order_s").literal
    assert not compile_pattern("ord[e]rs").literal
    assert compile_pattern("ord[ers").literal


def test_it_flags_percent_for_exact_name_fields() -> None:
    assert has_percent("HR%")
    assert not has_percent("SALES_2020")
