from __future__ import annotations

from collections import Counter

import pytest

from services.matching import text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＳｉＣ ＭＯＳＦＥＴ１２００Ｖ", "sic mosfet1200v"),
        ("鋰離子電池與電動車", "锂离子电池与电动车"),
        ("（低溫製熱）", "(低温制热)"),
    ],
    ids=["full-width-latin", "traditional-chinese", "full-width-punctuation"],
)
def test_normalise_folds_width_case_and_script(raw: str, expected: str) -> None:
    assert text.normalise(raw) == expected


def test_tokens_are_search_mode_words_without_punctuation_or_stop_words() -> None:
    tokens = text.tokens("我们的锂离子电池，和SiC器件。")
    assert tokens == ["离子", "锂离子", "电池", "sic", "器件"]


def test_tokens_keep_repeats_because_they_count_for_ranking() -> None:
    assert text.tokens("电池 电池") == ["电池", "电池"]


def test_query_terms_are_distinct_and_include_synonym_phrases_and_codes() -> None:
    terms = text.query_terms("求低温制热方案 低温 专利ZL202110123456.7")
    assert terms.count("低温") == 1
    assert "低温制热" in terms  # a synonym-list phrase, whatever the segmenter made of it
    assert "zl2021101234567" in terms  # the patent number whole, not its pieces
    assert "7" not in terms
    assert "求" not in terms


def test_latin_synonym_phrases_need_word_boundaries() -> None:
    assert "ic" not in text.query_terms("logic synthesis")
    assert "ic" in text.query_terms("IC design")


@pytest.mark.parametrize(
    ("term", "synonym"),
    [
        ("锂电", "锂离子电池"),
        ("锂离子电池", "锂电"),
        ("sic", "碳化硅"),
        ("碳化硅", "sic"),
        ("低温制热", "低环境温度供热"),
        ("抖动", "速度脉动"),
        ("ai", "人工智能"),
    ],
)
def test_expand_adds_synonyms_in_both_directions(term: str, synonym: str) -> None:
    expanded = text.expand([term])
    assert expanded[0] == term
    assert synonym in expanded


def test_expand_leaves_unknown_terms_alone() -> None:
    assert text.expand(["压铸件", "压铸件"]) == ["压铸件"]


def test_synonym_groups_are_many_and_each_term_belongs_to_one_group() -> None:
    groups = text.synonym_groups()
    assert len(groups) >= 60
    assert all(len(group) >= 2 for group in groups)
    members = Counter(text.normalise(member) for group in groups for member in group)
    assert [member for member, count in members.items() if count > 1] == []


def test_term_parts_are_the_tokens_a_document_holds() -> None:
    assert text.term_parts("低环境温度供热") == ["低", "环境", "温度", "环境温度", "供热"]
    assert text.term_parts("mini led") == ["mini", "led"]


def test_exact_token_drops_punctuation() -> None:
    assert text.exact_token("ZL 2021 1012.3") == "zl202110123"


def test_highlight_wraps_matches_in_the_original_text_and_escapes_html() -> None:
    marked, found = text.highlight("<b>SiC</b> 鋰離子電池模組", ["sic", "锂离子电池"])
    assert marked == "&lt;b&gt;<em>SiC</em>&lt;/b&gt; <em>鋰離子電池</em>模組"
    assert found == ["sic", "锂离子电池"]


def test_highlight_extends_a_latin_prefix_to_the_whole_word_but_not_short_terms() -> None:
    marked, found = text.highlight("Perovskite cells for air AI", ["perov", "ai"])
    assert marked == "<em>Perovskite</em> cells for air <em>AI</em>"
    assert found == ["perovskite", "ai"]


def test_highlight_merges_adjacent_matches_into_one_mark() -> None:
    marked, found = text.highlight("锂离子电池组", ["离子", "锂离子", "电池"])
    assert marked == "<em>锂离子电池</em>组"
    assert found == ["锂离子", "电池"]


def test_similar_words_find_what_a_mistyped_term_meant() -> None:
    assert text.similar_words("perovskyte", ["perovskite", "silicon", "perovskite"], 0.6) == ["perovskite"]
