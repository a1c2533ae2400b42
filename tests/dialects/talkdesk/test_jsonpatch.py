"""JSON Patch as RFC 6902 specifies it (examples from its appendix A)."""

from __future__ import annotations

from typing import Any

import pytest

from dialflow.dialects.talkdesk.jsonpatch import JsonPatchError, apply_patch


@pytest.mark.parametrize(
    ("document", "patch", "expected"),
    [
        # A.1 - A.4: add to an object and an array, remove from both.
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/baz", "value": "qux"}],
            {"foo": "bar", "baz": "qux"},
        ),
        (
            {"foo": ["bar", "baz"]},
            [{"op": "add", "path": "/foo/1", "value": "qux"}],
            {"foo": ["bar", "qux", "baz"]},
        ),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        (
            {"foo": ["bar", "qux", "baz"]},
            [{"op": "remove", "path": "/foo/1"}],
            {"foo": ["bar", "baz"]},
        ),
        # A.5 - A.7: replace, move a value, move an array element.
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        # A.8: a passing test; A.10: add a nested member; A.16: append with "-".
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [
                {"op": "test", "path": "/baz", "value": "qux"},
                {"op": "test", "path": "/foo/1", "value": 2},
            ],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
        # A.14: escaped pointers; copy; replacing the whole document.
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        ({"a/b": 1}, [{"op": "copy", "from": "/a~1b", "path": "/c"}], {"a/b": 1, "c": 1}),
        ({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}),
        ({"n": 1}, [{"op": "test", "path": "/n", "value": 1.0}], {"n": 1}),
    ],
)
def test_rfc_examples(document: Any, patch: list[Any], expected: Any) -> None:
    original = repr(document)
    assert apply_patch(document, patch) == expected
    assert repr(document) == original  # the input is left untouched


@pytest.mark.parametrize(
    ("document", "patch", "field"),
    [
        # A.9: a failing test; A.12: adding to a nonexistent target; A.15: "10" is not 10.
        ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], "[0].path"),
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], "[0].path"),
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [{"op": "test", "path": "/foo/1", "value": "2"}],
            "[0].path",
        ),
        ({"flag": True}, [{"op": "test", "path": "/flag", "value": 1}], "[0].path"),
        ({"foo": ["a"]}, [{"op": "add", "path": "/foo/01", "value": "b"}], "[0].path"),
        ({"foo": ["a"]}, [{"op": "remove", "path": "/foo/1"}], "[0].path"),
        ({"foo": "bar"}, [{"op": "replace", "path": "/nope", "value": 1}], "[0].path"),
        ({"foo": "bar"}, [{"op": "add", "path": "foo", "value": 1}], "[0].path"),
        ({"foo": "bar"}, [{"op": "add", "path": "/foo"}], "[0].value"),
        ({"foo": "bar"}, [{"op": "copy", "path": "/x"}], "[0].from"),
        ({"foo": "bar"}, [{"op": "remove", "path": ""}], "[0].path"),
        ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/c"}], "[0].path"),
        ({"foo": "bar"}, [{"op": "merge", "path": "/foo"}], "[0].op"),
        ({"foo": "bar"}, ["add"], "[0]"),
        ({"foo": "bar"}, {"op": "add", "path": "/x", "value": 1}, ""),
        ({"foo": "bar"}, [{"op": "add", "path": "/foo/x", "value": 1}], "[0].path"),
    ],
)
def test_errors_name_the_operation(document: Any, patch: Any, field: str) -> None:
    with pytest.raises(JsonPatchError) as raised:
        apply_patch(document, patch)
    assert raised.value.field == field


def test_a_failing_operation_leaves_nothing_half_applied() -> None:
    document = {"a": 1}
    with pytest.raises(JsonPatchError):
        apply_patch(
            document, [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/c"}]
        )
    assert document == {"a": 1}
