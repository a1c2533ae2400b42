"""JSON Patch (RFC 6902) over JSON Pointers (RFC 6901): Talkdesk's update format.

``apply_patch`` works on a copy and either applies every operation or raises ``JsonPatchError``
naming the operation that failed, so a patch is all or nothing.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["JsonPatchError", "apply_patch"]

_NEEDS_VALUE = frozenset({"add", "replace", "test"})
_NEEDS_FROM = frozenset({"move", "copy"})
_OPS = _NEEDS_VALUE | _NEEDS_FROM | {"remove"}


class JsonPatchError(ValueError):
    """A patch that cannot be applied; ``field`` is where (``[i].path`` of the operation)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _tokens(pointer: object, field: str) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise JsonPatchError(field, f'"{field}" must be a JSON Pointer like "/priority"')
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def _index(array: list[Any], part: str, field: str, *, inserting: bool) -> int:
    if inserting and part == "-":
        return len(array)
    limit = len(array) if inserting else len(array) - 1
    if part.isascii() and part.isdigit() and (part == "0" or not part.startswith("0")):
        position = int(part)
        if position <= limit:
            return position
    raise JsonPatchError(field, f'"{field}": no array element {part!r}')


def _child(node: Any, token: str, field: str) -> Any:
    if isinstance(node, dict):
        if token in node:
            return node[token]
    elif isinstance(node, list):
        return node[_index(node, token, field, inserting=False)]
    raise JsonPatchError(field, f'"{field}": {token!r} does not exist')


def _get(document: Any, tokens: list[str], field: str) -> Any:
    node = document
    for token in tokens:
        node = _child(node, token, field)
    return node


def _parent(document: Any, tokens: list[str], field: str) -> Any:
    parent = _get(document, tokens[:-1], field)
    if not isinstance(parent, dict | list):
        raise JsonPatchError(field, f'"{field}": the parent is not an object or array')
    return parent


def _add(document: Any, tokens: list[str], value: Any, field: str) -> Any:
    if not tokens:
        return value
    parent = _parent(document, tokens, field)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(_index(parent, tokens[-1], field, inserting=True), value)
    return document


def _remove(document: Any, tokens: list[str], field: str) -> Any:
    """Remove the target and answer its value."""
    if not tokens:
        raise JsonPatchError(field, f'"{field}": the whole document cannot be removed')
    parent = _parent(document, tokens, field)
    value = _child(parent, tokens[-1], field)
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[_index(parent, tokens[-1], field, inserting=False)]
    return value


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: numbers by value, but true is not 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right


def _apply_one(document: Any, operation: object, at: str) -> Any:
    if not isinstance(operation, dict):
        raise JsonPatchError(at, f'"{at}" must be an object with "op" and "path"')
    op = operation.get("op")
    if op not in _OPS:
        raise JsonPatchError(
            f"{at}.op", f'"{at}.op" must be one of {", ".join(sorted(_OPS))}, not {op!r}'
        )
    field = f"{at}.path"
    tokens = _tokens(operation.get("path"), field)
    if op in _NEEDS_VALUE and "value" not in operation:
        raise JsonPatchError(f"{at}.value", f'"{at}.value" is required for "{op}"')
    value = copy.deepcopy(operation.get("value"))
    if op in _NEEDS_FROM:
        source = _tokens(operation.get("from"), f"{at}.from")
        if op == "move":
            if tokens[: len(source)] == source and len(tokens) > len(source):
                raise JsonPatchError(field, f'"{field}": cannot move a value into itself')
            value = _remove(document, source, f"{at}.from")
        else:
            value = copy.deepcopy(_get(document, source, f"{at}.from"))
        return _add(document, tokens, value, field)
    if op == "add":
        return _add(document, tokens, value, field)
    if op == "remove":
        _remove(document, tokens, field)
        return document
    current = _get(document, tokens, field)
    if op == "test":
        if not _equal(current, value):
            raise JsonPatchError(field, f'"{field}": test failed, the value differs')
        return document
    if not tokens:
        return value
    _remove(document, tokens, field)  # replace: the target exists (read above)
    return _add(document, tokens, value, field)


def apply_patch(document: Any, operations: object) -> Any:
    """``document`` with the RFC 6902 ``operations`` applied (the input is left untouched)."""
    if not isinstance(operations, list):
        raise JsonPatchError("", "a JSON Patch is an array of operations")
    result = copy.deepcopy(document)
    for position, operation in enumerate(operations):
        result = _apply_one(result, operation, f"[{position}]")
    return result
