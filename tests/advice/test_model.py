"""The language-fallback rule and small domain helpers."""

from hotline.advice.model import AgeBand, pick_text, tel_uri


def test_reader_language_is_chosen_when_written() -> None:
    chosen = pick_text({"en": "hello", "fr": "bonjour"}, "fr")
    assert chosen is not None
    assert (chosen.value, chosen.language, chosen.fallback) == ("bonjour", "fr", False)


def test_missing_translation_falls_back_to_english_and_says_so() -> None:
    chosen = pick_text({"en": "hello"}, "fr")
    assert chosen is not None
    assert (chosen.value, chosen.language, chosen.fallback) == ("hello", "en", True)


def test_english_reader_is_never_a_fallback() -> None:
    chosen = pick_text({"en": "hello", "fr": "bonjour"}, "en")
    assert chosen is not None and not chosen.fallback


def test_nothing_to_show_without_english() -> None:
    assert pick_text({"fr": "bonjour"}, "de") is None
    assert pick_text({}, "en") is None


def test_tel_uri_keeps_digits_and_leading_plus() -> None:
    assert tel_uri("0800 1111") == "tel:08001111"
    assert tel_uri("+44 (0)800-1111") == "tel:+4408001111"
    assert tel_uri("1-800-668-6868") == "tel:18006686868"


def test_age_bands_cover_under_five_to_seventeen_in_order() -> None:
    assert [b.value for b in AgeBand] == ["under-5", "5-7", "8-10", "11-13", "14-17"]
    assert all(b.label for b in AgeBand)
