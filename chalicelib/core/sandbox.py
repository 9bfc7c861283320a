"""A Jinja2 sandbox for templates an admin writes, bounded in everything a template could spend.

``ImmutableSandboxedEnvironment`` already refuses Python internals (any attribute starting with ``_``,
a function's globals, a frame, ...) and changes to lists and dicts. On top of it:

- the parsed template is checked before it compiles: no include/import/extends (there is nothing to
  load), loops nested at most ``MAX_LOOP_DEPTH`` deep;
- every value a template makes is measured where it is made (a call, a filter, ``+ * % **``, ``~``, a
  list, tuple or dict literal) and refused past ``MAX_VALUE`` (characters of text plus one per item,
  nested at most ``MAX_NESTING`` deep, integers of at most ``MAX_INT_BITS`` bits): no chain of
  doublings grows a value out of memory, and no comparison of two values walks for hours;
- what a template outputs, in all (a ``{% set %}`` block or a macro's body too), is at most
  ``MAX_OUTPUT`` characters, whatever the caller keeps of it;
- ``range`` gives at most ``MAX_RANGE`` numbers, and one render makes at most ``MAX_ITERATIONS`` loop
  steps, wherever its loops are (in macros, recursive loops too);
- one render has ``SECONDS`` of wall clock, checked at every loop step, call, attribute, item and
  filter, so recursion through macros stops;
- filters are a whitelist (``FILTERS``): those that pad, indent or format to a given width are not in
  it, and those whose output grows with an argument (``join``, ``replace``, ``batch``) check first;
- methods of text, lists and dicts are a whitelist (``METHODS``): no ``ljust(10**9)`` or ``format``;
  ``%`` does not format text; any name starting with ``_`` is refused outright.

Output is plain text (autoescape off): each platform escapes what it shows. A name no variable has is
an error (a typo fails when the template is saved); an attribute or key the value lacks (a label this
incident does not carry) is empty, so that one template serves incidents with different labels. On a
map a key wins over a method of the same name (``alert.values`` is the alert's values).
"""
from __future__ import annotations

import contextvars
import functools
import time
import types
from collections.abc import Mapping, MappingView
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from jinja2 import TemplateSyntaxError, nodes, pass_environment, pass_eval_context
from jinja2.filters import FILTERS as JINJA_FILTERS
from jinja2.runtime import LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.utils import Namespace, missing
from jinja2.visitor import NodeTransformer

MAX_VALUE = 250_000
MAX_NESTING = 10
MAX_INT_BITS = 256
MAX_OUTPUT = 250_000
MAX_RANGE = 1000
MAX_ITERATIONS = 10_000
MAX_LOOP_DEPTH = 3
SECONDS = 0.5
MAX_REASON = 300
FILTERS = ("abs", "batch", "capitalize", "count", "d", "default", "dictsort", "filesizeformat", "first", "float",
           "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
           "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort", "string", "sum", "title",
           "trim", "truncate", "unique", "upper", "urlencode", "wordcount")
TEXT_METHODS = frozenset((
    "capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha", "isdigit", "islower",
    "isnumeric", "isspace", "isupper", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
    "rindex", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title",
    "upper"))
METHODS: dict[type, frozenset[str]] = {str: TEXT_METHODS, dict: frozenset(("get", "items", "keys", "values")),
                                       list: frozenset(("count", "index")), tuple: frozenset(("count", "index"))}
SCALARS = (int, float, bool, type(None))
NOT_LOADABLE = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
FILENAME = "<template>"  # the name Jinja gives a template made from a string (its traceback frames carry it)


class Refused(Exception):
    """A template went past one of the bounds."""


class Failed(Exception):
    """A template that does not compile, breaks a rule, fails or goes past a bound while it renders."""

    def __init__(self, line: int | None, reason: str) -> None:
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line = line
        self.reason = reason


@dataclass
class _Budget:
    deadline: float
    iterations: int = 0
    output: int = 0


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _spend(iterations: int = 0, output: int = 0) -> None:
    """Count against the render's budget (none while Jinja folds constants at compile time)."""
    budget = _budget.get()
    if budget is None:
        return
    if time.monotonic() > budget.deadline:
        raise Refused(f"took longer than {SECONDS} s")
    budget.iterations += iterations
    budget.output += output
    if budget.iterations > MAX_ITERATIONS:
        raise Refused(f"more than {MAX_ITERATIONS} loop steps")
    if budget.output > MAX_OUTPUT:
        raise Refused(f"more than {MAX_OUTPUT} characters of output")


def measure(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters of text plus one per item, nested (a shared item counts each time it is shown, as its text
    and a comparison would walk it); stops counting past ``limit``. Refused when nested deeper than
    MAX_NESTING or holding an integer over MAX_INT_BITS bits."""
    total, stack = 0, [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        if isinstance(item, str):
            total += len(item)
            continue
        total += 1
        if isinstance(item, int) and item.bit_length() > MAX_INT_BITS:
            raise Refused(f"a number larger than {MAX_INT_BITS} bits")
        children = _children(item)
        if children and depth >= MAX_NESTING:
            raise Refused(f"values nested deeper than {MAX_NESTING} levels")
        stack.extend((child, depth + 1) for child in children)
    return total


def _children(item: Any) -> Iterable:
    """The items a value holds (keys and values of a mapping); none for anything else. The common types
    first: a render measures every value it makes."""
    kind = type(item)
    if kind in (list, tuple):
        return item
    if kind in SCALARS:
        return ()
    if isinstance(item, Mapping):
        return [part for pair in item.items() for part in pair]
    return item if isinstance(item, (list, tuple, set, frozenset, MappingView)) else ()


def bounded_size(value: Any) -> int:
    """``measure(value)``; Refused past MAX_VALUE."""
    size = measure(value)
    if size > MAX_VALUE:
        raise Refused(f"a value larger than {MAX_VALUE} characters")
    return size


def bounded(value: Any) -> Any:
    bounded_size(value)
    return value


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise Refused(f"range() of more than {MAX_RANGE} numbers")
    return numbers


def _guarded(run: Callable[..., Any]) -> Callable[..., Any]:
    """A filter within the deadline, its value measured (Jinja's pass-context marks are kept)."""
    @functools.wraps(run)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _spend()
        return bounded(run(*args, **kwargs))

    return guarded


@pass_eval_context
def _join(eval_ctx: Any, value: Iterable, d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if measure(items) + len(items) * len(str(d)) > MAX_VALUE:
        raise Refused(f"join() of more than {MAX_VALUE} characters")
    return JINJA_FILTERS["join"](eval_ctx, items, d, attribute)


@pass_eval_context
def _replace(eval_ctx: Any, s: str, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(s), str(old), str(new)
    found = text.count(old) if count is None or count < 0 else min(count, text.count(old))
    if len(text) + found * max(0, len(new) - len(old)) > MAX_VALUE:
        raise Refused(f"replace() making more than {MAX_VALUE} characters")
    return JINJA_FILTERS["replace"](eval_ctx, text, old, new, count)


def _batch(value: Iterable, linecount: int, fill_with: Any = None) -> Iterator[list]:
    if linecount > MAX_RANGE:
        raise Refused(f"batch() of more than {MAX_RANGE} items")
    return JINJA_FILTERS["batch"](value, linecount, fill_with)


@pass_environment
def _sum(environment: Any, iterable: Iterable, attribute: str | int | None = None, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):
        raise Refused("sum() adds numbers only")
    return JINJA_FILTERS["sum"](environment, iterable, attribute, start)


CHECKED_FIRST = {"join": _join, "replace": _replace, "batch": _batch, "sum": _sum}


class _Undefined(Undefined):
    """A name nothing defines fails (a typo); a missing attribute or key of a value is empty."""

    __slots__ = ()

    def _name_only(self) -> None:
        if self._undefined_obj is missing:
            self._fail_with_undefined_error()

    def __str__(self) -> str:
        self._name_only()
        return ""

    def __iter__(self) -> Iterator[Any]:
        self._name_only()
        return iter(())

    def __bool__(self) -> bool:
        self._name_only()
        return False

    def __len__(self) -> int:
        self._name_only()
        return 0


class _Namespace(Namespace):
    """``namespace()``, shown without its values (they were measured one by one; a list of namespaces
    was not measured with them)."""

    def __repr__(self) -> str:
        return "<namespace>"


class _Guards(NodeTransformer):
    """Routes what makes values or loops through the environment's checks: each loop's iterable through
    ``steps``, each ``~`` through ``joined``, each list, tuple and dict literal through ``built`` (the
    environment's ``call`` measures what each gives)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _through("steps", node.iter)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _through("joined", *node.nodes)

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        return node if getattr(node, "ctx", "load") != "load" else _through("built", node)

    visit_List = visit_Tuple = visit_Dict = _literal


def _through(name: str, *args: nodes.Expr) -> nodes.Call:
    call = nodes.Call(nodes.EnvironmentAttribute(name), list(args), [], None, None)
    return call.set_lineno(args[0].lineno if args else 1)


def _too_deep(node: nodes.Node, depth: int = 0) -> nodes.For | None:
    """The first loop nested deeper than MAX_LOOP_DEPTH inside ``node``, if any."""
    if isinstance(node, nodes.For):
        depth += 1
        if depth > MAX_LOOP_DEPTH:
            return node
    return next(filter(None, (_too_deep(child, depth) for child in node.iter_child_nodes())), None)


class Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(("+", "*", "%", "**"))

    def __init__(self) -> None:
        super().__init__(autoescape=False, undefined=_Undefined, finalize=self.shown)
        self.globals.pop("lipsum")
        self.globals["range"] = _range
        self.globals["namespace"] = _Namespace
        self.filters = {name: _guarded(CHECKED_FIRST.get(name, JINJA_FILTERS[name])) for name in FILTERS}

    # -- the hooks the sandbox calls -------------------------------------------------------------
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(value, types.BuiltinMethodType):  # a method of a built-in type: only the listed ones
            owner = next((kind for kind in METHODS if isinstance(value.__self__, kind)), None)
            return owner is not None and attr in METHODS[owner]
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"{type(obj).__name__}.{attribute} is not available")  # at once, not when shown

    def wrap_str_format(self, value: Any) -> None:
        return None  # str.format is not in METHODS: refused like any other unlisted method

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.name``; on a map a key wins over a method of the same name (``alert.values``)."""
        _spend()
        _not_private(obj, attribute)
        if isinstance(obj, Mapping) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _spend()
        _not_private(obj, argument)
        return super().getitem(obj, argument)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _spend()
        if isinstance(obj, LoopContext) and args:  # loop(children) of a recursive loop: its steps count too
            args = (self.steps(args[0]), *args[1:])
        return bounded(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _spend()
        if operator == "%" and isinstance(left, str):
            raise Refused("% does not format text here: use ~ and filters")
        if operator == "*":
            _check_product(left, right)
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(left.bit_length(), 1) * right > MAX_INT_BITS:
                raise Refused(f"a number larger than {MAX_INT_BITS} bits")
        return bounded(super().call_binop(context, operator, left, right))

    def shown(self, value: Any) -> Any:
        """What ``{{ }}`` shows: None as nothing; counted against the render's output."""
        if value is None:
            return ""
        _spend(output=bounded_size(value))
        return value

    # -- what the guarded template calls ------------------------------------------------------------
    def steps(self, iterable: Iterable) -> Iterator[Any]:
        for item in iterable:
            _spend(iterations=1)
            yield item

    def joined(self, *parts: Any) -> str:
        if sum(measure(part) for part in parts) > MAX_VALUE:
            raise Refused(f"~ making more than {MAX_VALUE} characters")
        return "".join(map(str, parts))

    @staticmethod
    def built(value: Any) -> Any:
        """A list, tuple or dict literal, as made (``call`` measures it)."""
        return value


def _not_private(obj: Any, name: Any) -> None:
    """Any name starting with "_" is refused, whether ``obj`` has it or not."""
    if isinstance(name, str) and name.startswith("_"):
        raise SecurityError(f"{type(obj).__name__}.{name} is not available")


def _check_product(left: Any, right: Any) -> None:
    sequence, times = (left, right) if isinstance(right, int) else (right, left)
    if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
        if measure(sequence) * max(times, 0) > MAX_VALUE:
            raise Refused(f"* making more than {MAX_VALUE} characters")
    elif isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise Refused(f"a number larger than {MAX_INT_BITS} bits")


_environment = Sandbox()


@functools.lru_cache(maxsize=64)
def compiled(source: str) -> Any:
    """The template of ``source``, checked and guarded; Failed naming the line."""
    try:
        tree = _environment.parse(source)
        for node in tree.find_all(NOT_LOADABLE):
            raise Failed(node.lineno, "include, import and extends are not available (there is nothing to load)")
        if deep := _too_deep(tree):
            raise Failed(deep.lineno, f"loops nested deeper than {MAX_LOOP_DEPTH}")
        tree = _Guards().visit(tree)
        tree.set_environment(_environment)
        return _environment.from_string(tree)
    except TemplateSyntaxError as exc:  # also a filter not in FILTERS
        raise Failed(exc.lineno, exc.message or "syntax error") from exc
    except (RecursionError, SyntaxError) as exc:  # past the nesting Jinja's parser or Python's compiler takes
        raise Failed(None, "nested too deeply") from exc


def output(template: Any, context: dict, limit: int, size: Callable[[str], int] = len,
           unit: str = "characters") -> str:
    """Render ``template`` over ``context`` within the budget, stopping past ``limit`` (``size`` counts the
    ``unit``); Failed naming the line and the reason."""
    token = _budget.set(_Budget(deadline=time.monotonic() + SECONDS))
    chunks = template.generate(context)
    try:
        kept, total = [], 0
        for chunk in chunks:
            total += size(chunk)
            if total > limit:
                raise Failed(None, f"longer than {limit} {unit}")
            kept.append(chunk)
        return "".join(kept)
    except Failed:
        raise
    except Exception as exc:  # anything a template does wrong, or a bound it went past
        raise Failed(_line(exc), _reason(exc)) from exc
    finally:
        chunks.close()
        _budget.reset(token)


def _line(exc: BaseException) -> int | None:
    """The template line where ``exc`` happened (Jinja rewrites the traceback to the template's lines)."""
    line, trace = None, exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == FILENAME:
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _reason(exc: BaseException) -> str:
    known = isinstance(exc, (Refused, SecurityError)) or type(exc).__module__.startswith("jinja2")
    text = str(exc) if known else f"{type(exc).__name__}: {exc}"
    return text[:MAX_REASON] or type(exc).__name__
