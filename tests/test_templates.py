from __future__ import annotations

import time

import pytest

from dialflow.templates import (
    MAX_OUTPUT_CHARS,
    InvalidTemplate,
    MissingPlaceholder,
    TemplateError,
    TemplateTooLarge,
    UnsafeTemplate,
    _compile,
    placeholders_used,
    render,
    validate_template,
)

RECORD = {
    "first_name": "Ann",
    "last_name": "Lee",
    "phone": "+12125550123",
    "car_model": "Civic",
    "quote_amount": 1234.5,
    "items": ["a", "b", "c"],
    "profile": {"city": "Boston"},
    "big": "x" * 50_000,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {{ first_name }}!", "Hi Ann!"),
        ("{{ first_name }} {{ last_name | upper }}", "Ann LEE"),
        ("Quote: ${{ '%.2f' | format(quote_amount) }}", "Quote: $1234.50"),
        ("{{ profile.city }} / {{ profile['city'] }}", "Boston / Boston"),
        ("{% for i in items %}{{ i }}{% if not loop.last %},{% endif %}{% endfor %}", "a,b,c"),
        ("{{ items | join('-') }}", "a-b-c"),
        ("{{ first_name.upper() }} {{ '{} {}'.format(first_name, last_name) }}", "ANN Ann Lee"),
        ("{{ first_name ~ '!' * 3 }}", "Ann!!!"),
        ("{% set n = first_name | length %}{{ n * 2 }}", "6"),
        ("{% macro hi(n) %}Hi {{ n }}{% endmacro %}{{ hi(first_name) }}", "Hi Ann"),
        ("no placeholders\n", "no placeholders\n"),
        ("<b>{{ '<&>' }}</b>", "<b><&></b>"),  # plain text, no HTML escaping
    ],
)
def test_renders_placeholders(template: str, expected: str) -> None:
    assert render(template, RECORD) == expected


def test_values_are_data_never_templates() -> None:
    assert render("{{ v }}", {"v": "{{ 7 * 7 }}"}) == "{{ 7 * 7 }}"


# ----------------------------------------------------------------------------- missing values


def test_printing_a_missing_placeholder_fails_visibly() -> None:
    with pytest.raises(MissingPlaceholder, match="'car_colour' has no value") as info:
        render("Your {{ car_colour }} car", RECORD)
    assert info.value.name == "car_colour"
    assert isinstance(info.value, TemplateError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hi {{ nick | default('there') }}", "Hi there"),
        ("{% if nick %}Hi {{ nick }}{% else %}Hello{% endif %}", "Hello"),
        ("{% if nick is defined %}x{% else %}y{% endif %}", "y"),
        ("{{ profile.zip | default('none') }}", "none"),
    ],
)
def test_missing_placeholders_can_be_tested(template: str, expected: str) -> None:
    assert render(template, RECORD) == expected


def test_missing_attribute_fails_visibly() -> None:
    with pytest.raises(MissingPlaceholder):
        render("{{ profile.zip }}", RECORD)


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Hi {{ first_name", "syntax error on line 1"),
        ("{% if x %}never closed", "syntax error"),
        ("line one\n{{ 1 + }}", "line 2"),
        ("{{ x | no_such_filter }}", "No filter named 'no_such_filter'"),
        ("{% include 'other' %}", "include"),
        ("{% extends 'base' %}", "extends"),
        ("{% import 'm' as m %}", "import"),
    ],
)
def test_bad_templates_raise_invalid_template(template: str, message: str) -> None:
    with pytest.raises(InvalidTemplate, match=message):
        validate_template(template)
    with pytest.raises(InvalidTemplate):
        render(template, RECORD)


def test_validate_template_accepts_good_templates() -> None:
    validate_template("Hi {{ first_name | default('there') }}")


def test_validate_template_reports_unknown_placeholders() -> None:
    known = {"first_name", "car_model"}
    validate_template("Hi {{ first_name }}, your {{ car_model }}", known_names=known)
    with pytest.raises(InvalidTemplate, match="unknown placeholders car_colour, frist_name"):
        validate_template("Hi {{ frist_name }}, your {{ car_colour }}", known_names=known)
    # Names a template defines itself are not placeholders.
    validate_template("{% set x = 1 %}{% for i in [1] %}{{ i }}{% endfor %}{{ x }}", known_names=[])


def test_placeholders_used() -> None:
    used = placeholders_used("{{ first_name }} {% if vip %}{{ car_model|upper }}{% endif %}")
    assert used == {"first_name", "vip", "car_model"}


# ----------------------------------------------------------------------------- sandbox


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.__class__ }}",
        "{{ items.__len__() }}",
        "{{ profile.__init__.__globals__ }}",
        "{{ render.__globals__ }}",
        "{{ items.append('d') }}",
        "{{ profile.update({'a': 1}) }}",
        "{{ profile.pop('city') }}",
        "{{ ''.join(items) }}",
        "{{ self.__init__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ lipsum(100) }}",
        "{{ range(10) | list }}",
        "{{ namespace(a=1) }}",
    ],
)
def test_sandbox_refuses_unsafe_access(template: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, RECORD)
    assert "<class" not in info.value.message
    assert "object" not in info.value.message or "unsafe" in info.value.message


def test_sandbox_does_not_mutate_values() -> None:
    items = ["a"]
    with pytest.raises(UnsafeTemplate):
        render("{{ items.append('b') }}", {"items": items})
    assert items == ["a"]


def test_unsafe_attribute_in_a_test_is_just_false() -> None:
    assert render("{% if ''.__class__ %}leak{% else %}ok{% endif %}", {}) == "ok"


# ----------------------------------------------------------------------------- size limits


def test_output_is_capped() -> None:
    assert len(render("{{ big }}", RECORD)) == 50_000
    with pytest.raises(TemplateTooLarge, match="longer than the limit"):
        render("{{ big }}{{ big }}{{ big }}", RECORD)
    with pytest.raises(TemplateTooLarge, match="limit of 10 characters"):
        render("{{ first_name }} {{ last_name }} and friends", RECORD, max_chars=10)
    assert render("{{ first_name }}", RECORD, max_chars=3) == "Ann"


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 1000000000 }}",
        "{{ big * 3 }}",
        "{{ [big] * 3 }}",
        "{{ big ~ big ~ big }}",
        "{{ big + big + big }}",
        "{{ [big, big, big] }}",
        "{{ (big, big, big) | join }}",
        "{{ items | join(big ~ big) }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ ('%s' * 10) | format(big, big, big, big, big, big, big, big, big, big) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '{0}{0}{0}'.format(big) }}",
        "{{ 'a' | center(1000000000) }}",
        "{{ first_name.ljust(1000000000) }}",
        "{{ big | replace('x', 'yyy') }}",
        "{{ big.replace('x', 'yyy') }}",
        "{{ big | indent(1000000000) }}",
        "{{ big | wordwrap(1) | indent(100) }}",
        "{{ 2 ** 100000 }}",
        "{{ big | list | map('upper') | join('--') }}",
    ],
)
def test_amplifying_templates_are_stopped_early(template: str) -> None:
    began = time.perf_counter()
    with pytest.raises(UnsafeTemplate):
        render(template, RECORD)
    assert time.perf_counter() - began < 1.0


def test_default_cap_fits_the_largest_template_field() -> None:
    # EmailStep.body allows 100,000 characters of template.
    assert MAX_OUTPUT_CHARS >= 100_000


# ----------------------------------------------------------------------------- runtime errors


def test_runtime_errors_become_template_errors() -> None:
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        render("{{ 1 / 0 }}", {})
    with pytest.raises(TemplateError, match="TypeError"):
        render("{{ first_name + 1 }}", RECORD)


def test_compiled_templates_are_cached() -> None:
    _compile.cache_clear()
    for _ in range(3):
        render("cached {{ first_name }}", RECORD)
    info = _compile.cache_info()
    assert info.misses == 1
    assert info.hits == 2
