"""Mentions of forum usernames in text are replaced by their pseudonyms, whole words only."""

from corpus.importers.base import NameScrubber, Pseudonymizer

pseudonym = Pseudonymizer(key="test key")
scrub = NameScrubber(pseudonym)


def test_a_whole_word_mention_is_replaced_and_counted():
    text, count = scrub("Hi mamaflux, and thanks GrumpierCat.", ["mamaflux", "GrumpierCat"])
    assert text == f"Hi {pseudonym('mamaflux')}, and thanks {pseudonym('GrumpierCat')}."
    assert count == 2


def test_a_name_inside_a_longer_word_or_hyphenated_name_stays():
    for text in ("annabel", "joannab", "x-anna", "anna-x", "anna_x", "2anna"):
        assert scrub(text, ["anna"]) == (text, 0), text


def test_mentions_at_the_edges_and_next_to_punctuation_are_replaced():
    text, count = scrub("anna: (anna) anna's anna", ["anna"])
    assert text == "{0}: ({0}) {0}'s {0}".format(pseudonym("anna"))
    assert count == 4


def test_the_longest_name_wins_where_names_overlap():
    text, count = scrub("ask bob-smith or bob", ["bob", "bob-smith"])
    assert text == f"ask {pseudonym('bob-smith')} or {pseudonym('bob')}"
    assert count == 2


def test_a_rejected_match_does_not_hide_a_later_mention():
    text, count = scrub("xanna anna", ["anna"])
    assert text == f"xanna {pseudonym('anna')}"
    assert count == 1


def test_names_with_regex_characters_are_matched_literally():
    assert scrub("see a.b and axb", ["a.b"]) == (f"see {pseudonym('a.b')} and axb", 1)
