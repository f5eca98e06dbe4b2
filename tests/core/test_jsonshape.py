"""JSON read from a file or a peer, narrowed from ``object``: what is of the expected shape
comes back as it was, empty reads as empty, and anything else is an error naming the place."""

from __future__ import annotations

import pytest

from edge.core.jsonshape import as_float, as_int, as_object, as_objects, as_str_or_none, as_strs


def test_the_expected_shapes_come_back_unchanged() -> None:
    """Objects, lists of objects, numbers and strings pass through as they were read."""
    doc = {"a": 1}
    assert as_object(doc) is doc
    assert as_objects([doc, {"b": 2}]) == [doc, {"b": 2}]
    assert as_float(3) == 3.0 and as_float("2.5") == 2.5
    assert as_int("7") == 7 and as_int(7.9) == 7
    assert as_str_or_none("x") == "x" and as_str_or_none(None) is None
    assert as_strs(["cam-1", "*"]) == ["cam-1", "*"]


def test_null_and_empty_read_as_empty() -> None:
    """``null``, an absent key and an empty value are empty, as ``value or {}`` had them."""
    empties: list[object] = [None, {}, [], ""]
    for empty in empties:
        assert as_object(empty) == {}
        assert as_objects(empty) == []
        assert as_strs(empty) == []


def test_a_wrong_shape_names_its_place() -> None:
    """A list where an object belongs, a number in a list of objects, text where a number
    belongs: each is an error that says where and what was found."""
    with pytest.raises(ValueError, match=r"report.json scope: expected a JSON object, got list"):
        as_object(["x"], "report.json scope")
    with pytest.raises(ValueError, match=r"export.json held\[1\]: expected a JSON object, got int"):
        as_objects([{}, 5], "export.json held")
    with pytest.raises(ValueError, match=r"held: expected a list of JSON objects, got dict"):
        as_objects({"a": 1}, "held")
    with pytest.raises(TypeError, match=r"period since: expected a number, got NoneType"):
        as_float(None, "period since")
    with pytest.raises(TypeError, match=r"size: expected an integer, got list"):
        as_int([1], "size")
    with pytest.raises(ValueError, match=r"site: expected a string or null, got int"):
        as_str_or_none(5, "site")
    with pytest.raises(ValueError, match=r"kinds\[0\]: expected a string, got int"):
        as_strs([1], "kinds")
