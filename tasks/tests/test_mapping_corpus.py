"""Every malformed document of the corpus gives exactly its expected errors, and nothing
is accepted from a document that has them."""

from __future__ import annotations

import pytest

from tasks.engine.mapping import parse_table_mappings

from .mapping_corpus import CORPUS


def test_it_has_a_corpus_of_at_least_thirty_documents() -> None:
    assert len(CORPUS) >= 30
    assert len({case for case, _, _ in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize(("case", "document", "expected"), CORPUS, ids=[case for case, _, _ in CORPUS])
def test_it_reports_each_malformed_document_exactly(case: str, document, expected: list[str]) -> None:
    result = parse_table_mappings(document)
    assert [str(problem) for problem in result.errors] == expected
    assert not result.ok


@pytest.mark.parametrize(("case", "document", "expected"), CORPUS, ids=[case for case, _, _ in CORPUS])
def test_it_names_the_rule_and_path_of_each_rule_error(case: str, document, expected: list[str]) -> None:
    for problem in parse_table_mappings(document).errors:
        assert problem.path.startswith(("rules", "(document)"))
        assert "allowed" in problem.message or "not supported" in problem.message
        if "]." in problem.path:  # a field of a rule object: the rule is named
            assert problem.rule is not None
