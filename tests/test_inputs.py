"""as_texts: one str is one text, a sequence is many, anything else is a TypeError."""

import numpy as np
import pytest

from helpers.inputs import as_texts


def test_one_string_is_one_text_not_its_characters():
    assert as_texts("one review") == (["one review"], True)
    assert as_texts("") == ([""], True)


def test_one_mapping_is_one_text():
    slots = {"sentence": "John went to Paris .", "span": "Paris"}
    assert as_texts(slots) == ([slots], True)
    with pytest.raises(TypeError, match="must be one text \\(a str\\)"):
        as_texts(slots, mappings=False)


def test_sequences_and_arrays_are_many_texts():
    assert as_texts(["a", "b"]) == (["a", "b"], False)
    assert as_texts(("a", {"text": "b"})) == (["a", {"text": "b"}], False)
    assert as_texts(np.array(["a", "b"])) == (["a", "b"], False)
    assert as_texts([]) == ([], False)


@pytest.mark.parametrize("bad, message", [
    (None, r"reviews must be one text .* got None"),
    (42, r"got a int \(42\)"),
    (b"bytes", r"got a bytes"),
    ({"a", "b"}, r"wrap it in list"),
    (np.array([["a"], ["b"]]), r"shape \(2, 1\)"),
    (["fine", None], r"reviews\[1\] is None; every item must be a str or a dict"),
    (["fine", 3.5], r"reviews\[1\] is a float"),
])
def test_anything_else_is_a_type_error_that_names_the_argument(bad, message):
    with pytest.raises(TypeError, match=message):
        as_texts(bad, what="reviews")
