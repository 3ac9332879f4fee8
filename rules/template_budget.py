"""The resource budget of a template render: steps, characters, strings, items and time.

Jinja2's sandbox keeps templates away from Python's internals, but not from memory and
CPU: ``{% for i in range(100000) %}{{ 'a'*99999 }}{% endfor %}`` builds 10 GB, and
``replace``, ``center`` or ``%`` formatting build a gigabyte string in one call. Here
every render gets a budget, charged as it goes:

- every loop iteration, call, filter, operator and attribute look-up is a step;
- every character a ``{{ }}`` writes, a loop body's literal text per iteration, and the
  input of every filter is charged to a character budget;
- no single string may exceed ``MAX_STRING`` characters, checked before an operation
  that multiplies its input (``*``, ``%``, ``format``, ``replace``, ``center``,
  ``indent``, ``join``, ...) builds it, and after any other;
- ``range`` and list results are capped at ``MAX_ITEMS``; recursive loops, ``lipsum``
  and ``namespace`` (which lets a value grow across iterations) are not available;
- a wall-clock deadline backs the counts up; the output is capped at ``MAX_OUTPUT``.

A template that exceeds the budget on sample values fails to load (``tocsin check``
and reload report it); at run time the caller's fallback text is used instead.
"""

from __future__ import annotations

import contextvars
import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_STRING = 100_000  # characters in any one string a template builds
MAX_OUTPUT = 100_000  # characters a render returns
MAX_ITEMS = 10_000  # items in a range or a list a filter builds
MAX_STEPS = 20_000  # loop iterations, calls, filters, operators and look-ups
MAX_CHARS = 1_000_000  # characters written, looped over as literal text, or filtered
MAX_SECONDS = 0.25  # wall-clock time of one render, a backstop for the counts above
_MAX_EXPONENT = 64
_MAX_INT_BITS = 4096
_CHECK_CLOCK_EVERY = 64  # steps between looks at the clock


class BudgetExceeded(SecurityError):
    """A render went over one of its limits."""


class _Budget:
    """What one render has used so far."""

    __slots__ = ("chars", "deadline", "steps")

    def __init__(self) -> None:
        self.steps = 0
        self.chars = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def charge(self, steps: int = 1, chars: int = 0) -> None:
        self.steps += steps
        self.chars += chars
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(f"more than {MAX_STEPS} steps (loop iterations, calls, ...)")
        if self.chars > MAX_CHARS:
            raise BudgetExceeded(f"more than {MAX_CHARS} characters written or processed")
        if self.steps % _CHECK_CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise BudgetExceeded(f"rendering took longer than {MAX_SECONDS}s")


_CURRENT: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "tocsin_template_budget", default=None
)


def _charge(steps: int = 1, chars: int = 0) -> None:
    budget = _CURRENT.get()
    if budget is None:
        raise BudgetExceeded("templates render only within a budget")
    budget.charge(steps, chars)


def render_within_budget(render: Callable[[], str]) -> str:
    """Runs ``render`` with a fresh budget; raises BudgetExceeded if it goes over."""
    token = _CURRENT.set(_Budget())
    try:
        output = render()
    finally:
        _CURRENT.reset(token)
    if len(output) > MAX_OUTPUT:
        raise BudgetExceeded(f"output longer than {MAX_OUTPUT} characters")
    return output


def _sized(value: Any) -> Any:
    """Checks a result's size after it was built (for operations that cannot multiply)."""
    if isinstance(value, str | bytes) and len(value) > MAX_STRING:
        raise BudgetExceeded(f"a string longer than {MAX_STRING} characters")
    if isinstance(value, list | tuple) and len(value) > MAX_STRING:
        raise BudgetExceeded(f"a list longer than {MAX_STRING} items")
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value.bit_length() > _MAX_INT_BITS
    ):
        raise BudgetExceeded(f"a number larger than {_MAX_INT_BITS} bits")
    return value


def _need(estimate: int, what: str) -> None:
    if estimate > MAX_STRING:
        raise BudgetExceeded(f"{what} would build more than {MAX_STRING} characters")


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else len(str(value))


# printf-style conversions: %(key)-08.3f; a * takes the width from the arguments.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")
# The largest number of characters a float's digits before the point can take.
_FLOAT_DIGITS = 320


def _check_percent(template: Any, args: Any) -> None:
    """Refuses ``template % args`` if the result could exceed MAX_STRING."""
    if not isinstance(template, str | bytes):
        return
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    if isinstance(args, Mapping):
        values: Iterable[Any] = args.values()
    elif isinstance(args, tuple):
        values = args
    else:
        values = (args,)
    longest = max((max(_length(v), len(repr(v))) for v in values), default=0)
    estimate = len(text)
    for found in _PERCENT.finditer(text):
        width, precision, _ = found.groups()
        if width == "*" or precision == "*":
            raise BudgetExceeded("'*' widths in % formatting are not allowed")
        estimate += max(int(width or 0), int(precision or 0) + _FLOAT_DIGITS, longest)
    _need(estimate, "% formatting")


def _check_format(template: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuses ``template.format(...)`` if the result could exceed MAX_STRING."""
    values = [*args, *kwargs.values()]
    longest = max((max(_length(v), len(repr(v))) for v in values), default=0)
    estimate = len(template)
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error itself
    for _, field, spec, _ in fields:
        if field is None:
            continue
        if spec and "{" in spec:
            raise BudgetExceeded("nested fields in a format specification are not allowed")
        numbers = [int(n) for n in re.findall(r"\d+", spec or "")]
        estimate += max([longest, *numbers]) + _FLOAT_DIGITS
    _need(estimate, "format")


def _replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(text, str | bytes):
        return 0
    occurrences = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        occurrences = min(occurrences, count)
    return len(text) + occurrences * max(0, _length(new) - _length(old))


def _padded_size(text: Any, width: Any = 0, *_: Any) -> int:
    return max(_length(text), width if isinstance(width, int) else 0)


def _join_size(separator: Any, items: Iterable[Any]) -> tuple[int, list[Any]]:
    listed = list(items)
    if len(listed) > MAX_ITEMS * 10:
        raise BudgetExceeded(f"joining more than {MAX_ITEMS * 10} items")
    return sum(_length(i) for i in listed) + _length(separator) * len(listed), listed


def _method_size(method: str, owner: Any, args: tuple[Any, ...]) -> int | None:
    """The most characters a multiplying string method can build, or None for others."""
    if method == "replace":
        return _replace_size(owner, *args)
    if method in ("center", "ljust", "rjust", "zfill"):
        return _padded_size(owner, *args)
    if method == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        tabs: int = owner.count("\t" if isinstance(owner, str) else b"\t")
        return len(owner) + tabs * size
    if method == "translate":
        # A table can map one character to a long string.
        table = args[0] if args else None
        longest = (
            max((_length(v) for v in table.values()), default=1)
            if isinstance(table, Mapping)
            else 1
        )
        return len(owner) * max(1, longest)
    return None


def _guarded_filter(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a filter: pre-checks the multiplying ones, charges input, checks the result."""

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        # Filters marked pass_context/eval_context/environment get that first.
        value_index = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0
        value = args[value_index] if len(args) > value_index else None
        rest = args[value_index + 1 :]
        _charge(chars=_length(value) if isinstance(value, str | bytes) else 0)
        _FILTER_CHECKS.get(name, _no_check)(value, *rest, **kwargs)
        return _sized(original(*args, **kwargs))

    return guarded


def _no_check(*_: Any, **__: Any) -> None:
    return None


def _check_indent(value: Any, width: Any = 4, *_: Any, **kwargs: Any) -> None:
    width = kwargs.get("width", width)
    prefix = len(width) if isinstance(width, str) else (width if isinstance(width, int) else 0)
    lines = _length(value) and str(value).count("\n") + 1
    _need(_length(value) + prefix * lines, "indent")


def _check_wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
    wrapstring = kwargs.get("wrapstring", args[1] if len(args) > 1 else None) or "\n"
    breaks = _length(value) // max(1, width if isinstance(width, int) else 1) + 1
    _need(_length(value) + breaks * _length(wrapstring), "wordwrap")


def _check_count(what: str) -> Callable[..., None]:
    def check(_: Any, count: Any = 1, *__: Any, **___: Any) -> None:
        if isinstance(count, int) and count > MAX_ITEMS:
            raise BudgetExceeded(f"{what} into more than {MAX_ITEMS} parts")

    return check


def _check_sum(_: Any, *__: Any, **kwargs: Any) -> None:
    if not isinstance(kwargs.get("start", 0), int | float):
        raise BudgetExceeded("sum adds numbers only")


def _check_tojson(_: Any, indent: Any = None, **__: Any) -> None:
    if isinstance(indent, int) and indent > 16:
        raise BudgetExceeded("tojson indents by at most 16")


_FILTER_CHECKS: Mapping[str, Callable[..., None]] = {
    "replace": lambda v, *a, **k: _need(_replace_size(v, *a, **k), "replace"),
    "center": lambda v, w=80, *a, **k: _need(_padded_size(v, k.get("width", w)), "center"),
    "indent": _check_indent,
    "format": lambda v, *a, **k: _check_percent(v, k or a),
    "wordwrap": _check_wordwrap,
    "join": lambda v, d="", *a, **k: _need(_join_size(k.get("d", d), v)[0], "join"),
    "batch": _check_count("batch"),
    "slice": _check_count("slice"),
    "sum": _check_sum,
    "tojson": _check_tojson,
}


def _budget_range(*args: int) -> range:
    """``range`` of at most MAX_ITEMS numbers."""
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        raise BudgetExceeded(f"range of more than {MAX_ITEMS} numbers")
    return numbers


def _budget_iter(iterable: Iterable[Any], literal_chars: int) -> Iterator[Any]:
    """Iterates, charging a step and the loop body's literal text per item."""
    for item in iterable:
        _charge(1, literal_chars)
        yield item


def _budget_concat(*parts: Any) -> str:
    """``a ~ b``: refused before it builds a string over MAX_STRING."""
    texts = [str(p) for p in parts]
    _need(sum(len(t) for t in texts), "'~'")
    _charge(chars=sum(len(t) for t in texts))
    return "".join(texts)


def _finalize(value: Any) -> Any:
    """Charges what each ``{{ }}`` writes."""
    _charge(chars=_length(value))
    return value


_ITER = "__tocsin_iter"
_CONCAT = "__tocsin_concat"


class _Budgeter(NodeTransformer):
    """Rewrites a parsed template so that loops and ``~`` are charged to the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        if node.recursive:
            raise ValueError("recursive loops are not allowed in templates")
        self.generic_visit(node)
        literal = sum(len(d.data) for d in nodes.Template(node.body).find_all(nodes.TemplateData))
        node.iter = nodes.Call(
            nodes.Name(_ITER, "load"), [node.iter, nodes.Const(literal)], [], None, None
        )
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.Name(_CONCAT, "load"), list(node.nodes), [], None, None)


def add_budget(template: nodes.Template) -> nodes.Template:
    """Rewrites a parsed template (checked for its variables already) to charge its budget."""
    result = _Budgeter().visit(template)
    assert isinstance(result, nodes.Template)
    return result


class BudgetSandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox with every render held to the budget above."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=_finalize, **options)
        self.globals.pop("lipsum", None)
        self.globals.pop("namespace", None)
        self.globals["range"] = _budget_range
        self.globals[_ITER] = _budget_iter
        self.globals[_CONCAT] = _budget_concat
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _charge()
        if operator == "**" and isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
            raise BudgetExceeded("exponent too large")
        if operator == "*":
            for value, count in ((left, right), (right, left)):
                if isinstance(value, str | bytes | list | tuple) and isinstance(count, int):
                    _need(len(value) * count, "'*'")
        if operator == "%":
            _check_percent(left, right)
        if operator == "+" and isinstance(left, str | bytes | list | tuple):
            _need(len(left) + (len(right) if isinstance(right, type(left)) else 0), "'+'")
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _charge()
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes):
            method = getattr(__obj, "__name__", "")
            if method == "join" and args:
                joined, listed = _join_size(owner, args[0])
                _need(joined, "join")
                args = (listed, *args[1:])
            else:
                size = _method_size(method, owner, args)
                if size is not None:
                    _need(size, method)
        return _sized(super().call(__context, __obj, *args, **kwargs))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template: str = value.__self__
        is_map = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            if is_map and args and isinstance(args[0], Mapping):
                _check_format(template, (), args[0])
            else:
                _check_format(template, args, kwargs)
            return wrapped(*args, **kwargs)

        return checked
