"""Placeholders in call scripts and messages: ``{{ first_name }}``, rendered in a Jinja2 sandbox.

Templates are written by a workspace's operators (in workflow definitions); the values come from
records that client systems submit. Values are only ever data: a value that itself looks like a
template is printed as-is, never rendered.

Decisions:

* **Sandbox.** ``ImmutableSandboxedEnvironment``: no access to ``_private`` or internal
  attributes (``''.__class__`` is refused), no mutation of lists/dicts, no loaders (so no
  ``include``/``import``/``extends``; they are rejected when the template is checked) and no
  globals at all (no ``range``, ``lipsum``, ``namespace``, ``cycler``, ``joiner``). Method calls
  are limited to harmless ``str``/``dict``/``list`` methods; filters are Jinja's built-ins.
  Autoescaping is off: the output is plain text (speech, SMS, email text), not HTML.
* **Missing placeholders fail visibly.** *Printing* a name the record does not have (``{{ x }}``)
  raises ``MissingPlaceholder`` instead of silently sending "Hi ,". *Testing* it is fine, so an
  optional placeholder is written ``{% if x %}...{% endif %}``, ``{{ x | default('there') }}`` or
  ``{% if x is defined %}``. Intake already guarantees required variables are present.
* **Bounded output.** Rendering stops with ``TemplateTooLarge`` past ``max_chars`` (default
  ``MAX_OUTPUT_CHARS``, sized for the largest template field, an email body). The operations
  that can grow a value quickly (``*``, ``+``, ``~``, ``**``, ``%`` formatting, ``str.format``,
  and the filters/methods taking a width or count) are checked *before* they run, so no
  intermediate value grows past ``MAX_VALUE_CHARS`` either. What is left is CPU time spent in
  loops over large values, bounded by the size of a record's data.
* **Compiled once.** Compiled templates are cached by their source text (LRU).

Errors are ``TemplateError`` (a ``ValueError``, so a pydantic validator can raise it as is) with
a message a person can act on.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.meta import find_undeclared_variables
from jinja2.runtime import Context, LoopContext, Macro, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "MAX_OUTPUT_CHARS",
    "MAX_VALUE_CHARS",
    "InvalidTemplate",
    "MissingPlaceholder",
    "TemplateError",
    "TemplateTooLarge",
    "UnsafeTemplate",
    "placeholders_used",
    "render",
    "validate_template",
]

#: Default cap on a rendered text (the largest template field, an email body, is 100,000).
MAX_OUTPUT_CHARS: Final = 100_000
#: Cap on any single value a template builds while rendering (strings, lists).
MAX_VALUE_CHARS: Final = MAX_OUTPUT_CHARS
#: Cap on the size (in bits) of integers built with ``**``.
_MAX_INT_BITS: Final = 4096
_CACHE_SIZE: Final = 512


class TemplateError(ValueError):
    """A template could not be compiled or rendered; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidTemplate(TemplateError):
    """The template's syntax is wrong, it uses a forbidden tag, or an unknown placeholder."""


class MissingPlaceholder(TemplateError):
    """The template prints a placeholder the record has no value for."""

    def __init__(self, message: str, name: str | None) -> None:
        super().__init__(message)
        self.name = name


class UnsafeTemplate(TemplateError):
    """The template tried something the sandbox refuses (internals, unsafe calls, huge values)."""


class TemplateTooLarge(UnsafeTemplate):
    """The rendered text (or a value built on the way) is longer than allowed."""


# --------------------------------------------------------------------------- size guards
#
# A template can make a value bigger than its inputs in only a few ways: repetition (``*``),
# joining (``+``, ``~``, ``|join``, ``%`` and ``format``), padding (widths and indents), replacing
# and printing a container that holds the same value many times (``[x, x, x]``). Each is checked
# against the value's *weight* (roughly its printed length) before it runs.


def _too_large(what: str, size: int, limit: int = MAX_VALUE_CHARS) -> TemplateTooLarge:
    return TemplateTooLarge(f"{what} would be {size:,} long; the limit is {limit:,} characters")


def _weight(value: object, limit: int = MAX_VALUE_CHARS) -> int:
    """About how many characters ``str(value)`` has; stops counting once past ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, Undefined):
            pass
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            stack.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        else:
            total += 32
    return total


def _check_weight(value: object, what: str) -> None:
    weight = _weight(value)
    if weight > MAX_VALUE_CHARS:
        raise _too_large(what, weight)


def _check_size(value: object, what: str) -> Any:
    if isinstance(value, str | list | tuple | dict | set | frozenset):
        _check_weight(value, what)
    return value


def _check_width(value: object, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_VALUE_CHARS:
        raise _too_large(what, abs(value))


# printf conversions (``%08d``, ``%*s``) and the spec of str.format fields (``{:>20}``).
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_SPEC = re.compile(r"\{[^{}]*?:([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
_DIGITS = re.compile(r"\d+")


def _format_args(args: object) -> list[object]:
    if isinstance(args, tuple):
        return list(args)
    if isinstance(args, dict):
        return list(args.values())
    return [args]


def _check_formatting(fmt: str, fields: int, args: list[object], what: str) -> None:
    """``fmt`` filled ``fields`` times with the largest of ``args`` must stay within the cap."""
    largest = max((_weight(arg) for arg in args), default=0)
    _check_weight_total(len(fmt) + fields * largest, what)


def _check_weight_total(size: int, what: str) -> None:
    if size > MAX_VALUE_CHARS:
        raise _too_large(what, size)


def _check_printf(fmt: str, args: object) -> None:
    fields = 0
    for match in _PRINTF_FIELD.finditer(fmt):
        fields += 1
        for part in match.groups():
            if part == "*":
                raise UnsafeTemplate("'%' formatting with a '*' width is not allowed in templates")
            if part is not None:
                _check_width(int(part), "a '%' formatted field")
    _check_formatting(fmt, fields, _format_args(args), "'%' formatting")


def _check_format(fmt: str, args: tuple[object, ...], kwargs: Mapping[str, object]) -> None:
    for spec in _FORMAT_SPEC.findall(fmt):
        if "{" in spec:
            raise UnsafeTemplate("nested fields in format specs are not allowed in templates")
        for digits in _DIGITS.findall(spec):
            _check_width(int(digits), "a formatted field")
    values = [*args, *kwargs.values()]
    _check_formatting(fmt, fmt.count("{"), values, "format()")


def _check_replace(text: object, old: object, new: object, count: object) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    _check_weight_total(len(text) + hits * (len(new) - len(old)), "replace()")


def _check_join(items: object, separator: object) -> None:
    if isinstance(items, list | tuple) and isinstance(separator, str):
        size = _weight(list(items)) + max(len(items) - 1, 0) * len(separator)
        _check_weight_total(size, "join()")


def _check_power(left: object, right: object) -> None:
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right * max(abs(left).bit_length(), 1) > _MAX_INT_BITS
    ):
        raise UnsafeTemplate(f"{left} ** {right} is too large a number for a template")


def _guard_binop(operator: str, left: object, right: object) -> None:
    sequences = (str, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sequences) and isinstance(times, int) and times > 0:
                _check_weight_total(_weight(seq) * times, "'*' repetition")
    elif operator == "+":
        if isinstance(left, sequences) and isinstance(right, sequences):
            _check_weight_total(_weight(left) + _weight(right), "'+' concatenation")
    elif operator == "**":
        _check_power(left, right)
    elif operator == "%" and isinstance(left, str):
        _check_printf(left, right)


def _capped_join(values: tuple[object, ...]) -> str:
    """``~`` concatenation, weighed before any value is turned into text."""
    _check_weight_total(sum(_weight(value) for value in values), "'~' concatenation")
    return "".join(str(value) for value in values)


def _finalize(value: object) -> object:
    """Every ``{{ expression }}`` passes here before it is printed."""
    if not isinstance(value, str):
        _check_size(value, "a printed value")
    return value


# --------------------------------------------------------------------------- filters


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str) -> Any:
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else None


def _pre_filter(name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Checks made before a built-in filter runs; ``args[0]`` is the filtered value."""
    value = args[0] if args else None
    _check_size(value, f"the value given to |{name}")
    if name in {"center", "wordwrap"}:
        _check_width(_arg(args, kwargs, 1, "width"), f"the width given to |{name}")
    elif name == "truncate":
        _check_width(_arg(args, kwargs, 1, "length"), "the length given to |truncate")
    elif name in {"batch", "slice"}:
        count = _arg(args, kwargs, 1, "linecount" if name == "batch" else "slices")
        _check_width(count, f"the count given to |{name}")
    elif name in {"indent", "tojson"}:
        width = _arg(args, kwargs, 1, "width" if name == "indent" else "indent")
        if isinstance(width, str):
            width = len(width)
        _check_width(width, f"the indent given to |{name}")
        if isinstance(width, int) and width > 0:
            lines = value.count("\n") + 1 if isinstance(value, str) else _weight(value)
            _check_weight_total(_weight(value) + lines * width, f"|{name}")
    elif name == "format" and isinstance(value, str):
        _check_printf(value, tuple(args[1:]) if len(args) > 1 else dict(kwargs))
    elif name == "replace":
        old, new = _arg(args, kwargs, 1, "old"), _arg(args, kwargs, 2, "new")
        _check_replace(value, old, new, _arg(args, kwargs, 3, "count"))
    elif name == "join":
        _check_join(value, _arg(args, kwargs, 1, "d") or "")


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    offset = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)  # keeps jinja_pass_arg (context/environment passing)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > offset and isinstance(args[offset], Iterator):
            # a lazy sequence (from |map, |select, ...): materialize it so it can be weighed
            args = (*args[:offset], list(args[offset]), *args[offset + 1 :])
        _pre_filter(name, args[offset:], kwargs)
        return _check_size(func(*args, **kwargs), f"the result of |{name}")

    return guarded


# --------------------------------------------------------------------------- method calls

_STR_METHODS: Final = frozenset(
    {
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "zfill",
    }
)
_DICT_METHODS: Final = frozenset({"get", "items", "keys", "values"})
_SEQUENCE_METHODS: Final = frozenset({"count", "index"})
_LOOP_METHODS: Final = frozenset({"cycle", "changed"})


def _allowed_method(obj: object) -> tuple[object, str] | None:
    """``(bound object, method name)`` when ``obj`` is a method templates may call."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, str) and name in _STR_METHODS:
        return owner, name
    if isinstance(owner, dict) and name in _DICT_METHODS:
        return owner, name
    if isinstance(owner, list | tuple) and name in _SEQUENCE_METHODS:
        return owner, name
    if isinstance(owner, LoopContext) and name in _LOOP_METHODS:
        return owner, name
    return None


class _CodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join instead of an unchecked one."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802
        self.write("environment.capped_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _MissingValue(Undefined):
    """A name the record lacks: false in tests, accepted by ``default``; printing it fails."""

    __slots__ = ()

    __str__ = __iter__ = __len__ = Undefined._fail_with_undefined_error


class _Environment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            autoescape=False,
            undefined=_MissingValue,
            finalize=_finalize,
            keep_trailing_newline=True,
            auto_reload=False,
            cache_size=0,  # our own LRU cache keeps the compiled templates
        )
        self.globals.clear()
        self.filters = {name: _guard_filter(name, func) for name, func in self.filters.items()}

    @staticmethod
    def capped_join(values: tuple[object, ...]) -> str:
        return _capped_join(values)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _guard_binop(operator, left, right)
        return _check_size(super().call_binop(context, operator, left, right), f"'{operator}'")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        @functools.wraps(sandboxed)
        def checked(*args: Any, **kwargs: Any) -> str:
            if is_format_map and len(args) == 1 and isinstance(args[0], Mapping):
                _check_format(fmt, (), args[0])
            else:
                _check_format(fmt, args, kwargs)
            return sandboxed(*args, **kwargs)

        checked.dialflow_checked_format = True  # type: ignore[attr-defined]
        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(__obj, Macro | LoopContext) or getattr(
            __obj, "dialflow_checked_format", False
        ):
            return _check_size(super().call(__context, __obj, *args, **kwargs), "a call")
        method = _allowed_method(__obj)
        if method is None:
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise UnsafeTemplate(
                f"calling {name}() is not allowed in templates; use a filter such as "
                "{{ name | upper }} instead"
            )
        owner, name = method
        for value in (*args, *kwargs.values()):
            _check_width(value, f"an argument of {name}()")
        if name == "replace":
            _check_replace(
                owner,
                _arg(args, kwargs, 0, "old"),
                _arg(args, kwargs, 1, "new"),
                _arg(args, kwargs, 2, "count"),
            )
        return _check_size(super().call(__context, __obj, *args, **kwargs), f"{name}()")


_ENV: Final = _Environment()
_FORBIDDEN_TAGS: Final[dict[type[nodes.Node], str]] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: jinja2.Template
    names: frozenset[str]


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(source: str) -> _Compiled:
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidTemplate(
            f"template syntax error on line {exc.lineno}: {exc.message}"
        ) from None
    except RecursionError:
        raise InvalidTemplate("template is nested too deeply") from None
    for node_type, tag in _FORBIDDEN_TAGS.items():
        found = tree.find(node_type)
        if found is not None:
            raise InvalidTemplate(
                f"line {found.lineno}: '{{% {tag} %}}' is not supported; templates stand alone"
            )
    try:
        template = _ENV.from_string(tree)
    except jinja2.TemplateSyntaxError as exc:  # e.g. an unknown filter
        raise InvalidTemplate(f"template error on line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise InvalidTemplate("template is nested too deeply") from None
    return _Compiled(template, frozenset(find_undeclared_variables(tree)))


def validate_template(template: str, *, known_names: Collection[str] | None = None) -> None:
    """Check ``template`` when a workflow is saved; raises ``InvalidTemplate`` with the reason.

    With ``known_names`` (the workflow's variables plus the record fields the caller provides),
    a placeholder outside that set is reported too, so a typo is caught before any call.
    """
    compiled = _compile(template)
    if known_names is not None:
        unknown = sorted(compiled.names - set(known_names))
        if unknown:
            raise InvalidTemplate(
                f"unknown placeholder{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}; declare {'them' if len(unknown) > 1 else 'it'} "
                "as workflow variables or fix the spelling"
            )


def placeholders_used(template: str) -> frozenset[str]:
    """The top-level names ``template`` reads (raises ``InvalidTemplate`` on a bad template)."""
    return _compile(template).names


def render(
    template: str, variables: Mapping[str, object], *, max_chars: int = MAX_OUTPUT_CHARS
) -> str:
    """``template`` with ``variables`` filled in; raises a ``TemplateError`` subclass on failure.

    Output past ``max_chars`` characters raises ``TemplateTooLarge`` (the text is not cut).
    """
    compiled = _compile(template)
    parts: list[str] = []
    size = 0
    try:
        for chunk in compiled.template.generate(dict(variables)):
            size += len(chunk)
            if size > max_chars:
                raise TemplateTooLarge(
                    f"the rendered text is longer than the limit of {max_chars:,} characters"
                )
            parts.append(chunk)
    except TemplateError:
        raise
    except jinja2.UndefinedError as exc:
        name = _undefined_name(exc.message)
        if name is not None and name in compiled.names:
            raise MissingPlaceholder(
                f"placeholder {name!r} has no value for this record; give the record a value "
                f"or write {{{{ {name} | default('...') }}}} in the template",
                name,
            ) from None
        raise MissingPlaceholder(f"template uses a missing value: {exc.message}", name) from None
    except jinja2.exceptions.SecurityError as exc:
        raise UnsafeTemplate(f"template refused by the sandbox: {exc}") from None
    except RecursionError:
        raise UnsafeTemplate("template recursed too deeply") from None
    except Exception as exc:  # any other failure of the template's own expressions
        raise TemplateError(
            f"template could not be rendered: {type(exc).__name__}: {exc}"
        ) from None
    return "".join(parts)


_UNDEFINED_NAME = re.compile(r"^'([^']+)' is undefined$")


def _undefined_name(message: str | None) -> str | None:
    match = _UNDEFINED_NAME.match(message or "")
    return match.group(1) if match else None
