"""The citation check (`writer.text.citations`): supported, unsupported and out-of-range citations."""

from writer.pipeline.memory.checks import citation_failure
from writer.text.citations import check_citations, cited_numbers, failed_share, strip_citations, supports

PASSAGES = {1: "Dutch traders brought tea to Europe in 1610, through the port of Amsterdam.",
            2: "Clipper ships raced from Canton to London with the new harvest of tea."}


def test_a_supported_citation_is_kept():
    text = "Dutch traders brought tea to Europe in 1610 [1]."
    kept, [verdict] = check_citations(text, PASSAGES)
    assert kept == text and verdict.supported and verdict.number == 1
    assert verdict.sentence == "Dutch traders brought tea to Europe in 1610."


def test_an_unsupported_citation_is_dropped_with_its_space():
    text = "Tea came to Europe with Dutch traders [1]. Dragons guard the mountains of the north [2]. Fine."
    kept, verdicts = check_citations(text, PASSAGES)
    assert kept == "Tea came to Europe with Dutch traders [1]. Dragons guard the mountains of the north. Fine."
    assert [(v.number, v.supported, v.reason) for v in verdicts] == [
        (1, True, ""), (2, False, "passage does not support the sentence")]


def test_an_out_of_range_citation_is_dropped():
    kept, [verdict] = check_citations("Clipper ships raced to London [7].", PASSAGES)
    assert kept == "Clipper ships raced to London." and not verdict.supported and verdict.reason == "not a source"


def test_a_marker_after_the_full_stop_belongs_to_its_sentence_and_groups_keep_what_holds():
    text = "Clipper ships raced from Canton to London. [2] Tea reached Europe via Amsterdam [1, 2, 9]."
    kept, verdicts = check_citations(text, PASSAGES)
    assert verdicts[0].sentence == "Clipper ships raced from Canton to London." and verdicts[0].supported
    assert [(v.number, v.supported) for v in verdicts[1:]] == [(1, True), (2, False), (9, False)]
    assert kept == "Clipper ships raced from Canton to London. [2] Tea reached Europe via Amsterdam [1]."
    assert cited_numbers(text) == [2, 1, 9] and strip_citations(kept) == (
        "Clipper ships raced from Canton to London. Tea reached Europe via Amsterdam.")


def test_support_is_half_the_sentences_content_words():
    passage = PASSAGES[1]
    assert supports(passage, "Traders brought tea.")  # stems: "trade" meets "traders"
    assert supports(passage, "Tea reached Amsterdam early, carried by ships.") is False  # 2 of 6
    assert supports(passage, "The tea was cheap.")  # tea, cheap: half
    assert not supports(passage, "It was so [1].")  # nothing to support


def test_most_citations_failing_is_a_check_failure():
    _, verdicts = check_citations("Moons sing [1]. Stars dance [2]. Dutch traders brought tea [1].", PASSAGES)
    assert failed_share(verdicts) == 2 / 3
    failure = citation_failure(verdicts)
    assert failure.startswith("2 of its 3 citations do not hold ([1] passage does not support the sentence")
    _, fine = check_citations("Dutch traders brought tea [1]. Moons sing [2].", PASSAGES)
    assert citation_failure(fine) is None and citation_failure([]) is None
