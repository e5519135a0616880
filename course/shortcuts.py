"""Exercises to be done by hand, and how to tell that an answer handed the work to a library.

Where the point of an exercise is to compute a derivative (or an optimizer step) yourself,
an answer that calls jax, autograd, torch, sympy or optax instead scores zero for that
exercise, with a message saying why (:mod:`autograder.trusted` applies the rule in
grading), and the visible check warns as soon as it runs (:func:`course.checking.call`).
Other exercises are free to use those libraries: 06's ``normal_nll`` and ``mixture_nll``
are *meant* to be written with ``jax.numpy``.

Two detectors, one per situation:

* :func:`forbidden_uses` reads an answer cell's source (grading): its own imports, and
  names it uses that an import anywhere in the notebook bound to a forbidden module
  (lessons import jax for their demos, so ``jnp`` is always at hand);
* :func:`forbidden_in` inspects a live function (the visible check): its code and nested
  code, the globals it reads, its closure, and the methods of classes it uses, as far as
  they are the student's own code.

Neither is a proof: code built from strings (``exec``, ``getattr(module, name)``) can
hide a library. They catch the honest shortcut, which is the common one.
"""

from __future__ import annotations

import ast
import dis
import functools
import gc
import sys
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: The checkers' own oracle wraps jax; handing the work to it is the same shortcut.
_ORACLES = ("course.oracle", "course.checks")
AUTODIFF = frozenset({"jax", "autograd", "torch", "sympy", *_ORACLES})
OPTIMIZERS = frozenset({"optax", "torch", *_ORACLES})


@dataclass(frozen=True)
class ByHand:
    """An exercise to be done by hand: what it may not use, and what checkers call it."""

    forbidden: frozenset[str]  # module names (a prefix of a dotted name matches)
    names: tuple[str, ...]  # the ``name=`` checkers give course.checking.call
    task: str  # what the exercise asks you to do yourself


def _rules(forbidden: frozenset[str], task: str, **names: tuple[str, ...]) -> dict[str, ByHand]:
    return {exercise: ByHand(forbidden, called or (exercise,), task)
            for exercise, called in names.items()}


_DERIVATIVE = "compute the derivative by hand"
#: Answer cell grade_id -> rule. A grade id names one exercise across the course (lesson
#: 09 re-checks lesson 08's adam_step under the same id and rule). Read-only, so that
#: a submission cannot switch a rule off in its kernel.
BY_HAND: Mapping[str, ByHand] = MappingProxyType({
    # 01: the derivatives of f and of the activations, worked out on paper
    **_rules(AUTODIFF, _DERIVATIVE, grad_f=(), hessian_f=(), sigmoid_prime=(), relu_prime=()),
    # 02: numeric differentiation
    **_rules(AUTODIFF, "differentiate numerically with your own formula",
             forward_difference=(), central_difference=(), complex_step=(),
             numeric_gradient=(), numeric_jacobian=(), relative_error=()),
    # 03: symbolic differentiation on the course's expression trees
    **_rules(frozenset({"sympy", "course.expr.to_sympy", "course.expr.from_sympy"}),
             "differentiate and simplify the expression tree yourself",
             diff=(), simplify=()),
    # 04: forward mode
    **_rules(AUTODIFF, "build forward-mode differentiation yourself",
             dual_ops=("Dual",), derivative=(), forward_gradient=()),
    # 05: reverse mode
    **_rules(AUTODIFF, "build reverse-mode differentiation yourself",
             var_ops=("Var",), backward=(), grad=(), one_neuron_grads=()),
    # 04 and 05 both call their elementary functions sin, cos, ...: one rule for both
    **_rules(AUTODIFF, "write each elementary function's derivative rule yourself",
             dual_functions=("sin", "cos", "exp", "log", "tanh"),
             var_functions=("sin", "cos", "exp", "log", "tanh", "relu")),
    # 07 and 08: the update rules themselves
    **_rules(OPTIMIZERS, "write the update rule yourself", sgd=()),
    **_rules(OPTIMIZERS, "write the update rule yourself",
             momentum_step=(), nesterov_step=(), adagrad_step=(), adadelta_step=(),
             rmsprop_step=(), adam_step=()),
    # 09: backpropagation by hand, training with the lesson's own Adam
    **_rules(frozenset({"jax", "optax", "torch", "autograd", *_ORACLES}),
             "backpropagate and train with your own numpy code",
             mlp_backward=(), train_xor=()),
})

#: Name a checker calls -> rule (04's and 05's sin, cos, ... share one rule).
BY_NAME: Mapping[str, ByHand] = MappingProxyType(
    {name: rule for rule in BY_HAND.values() for name in rule.names})


def matches(dotted: str, forbidden: Iterable[str]) -> str | None:
    """The forbidden module ``dotted`` is or lies in, if any."""
    for module in sorted(forbidden):
        if dotted == module or dotted.startswith(module + "."):
            return module
    return None


def message(name: str, rule: ByHand, uses: list[str]) -> str:
    """Why the answer ``name`` (an exercise or a function of it) scores zero."""
    modules = sorted({matches(use, rule.forbidden) or use for use in uses})
    shown = ", ".join(f"`{use}`" for use in uses[:3] if use not in modules)
    return (f"`{name}` uses {' and '.join(modules)}{f' ({shown})' if shown else ''}: "
            "this exercise asks you to "
            f"{rule.task}, so an answer that hands the work to a library scores zero in "
            "grading. The lesson uses these libraries to show and to check what you build; "
            "write the computation yourself (numpy and math are fine).")


# ----------------------------------------------------------------------- static (grading)


def _python(source: str) -> ast.Module | None:
    text = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith(("%", "!")))
    try:
        return ast.parse(text)
    except SyntaxError:
        return None


def _imports(tree: ast.AST) -> Iterable[tuple[str, str]]:
    """(bound name, dotted origin) of every import statement in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    yield alias.asname, alias.name
                else:  # `import jax.numpy` binds `jax`
                    yield alias.name.split(".")[0], alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                yield alias.asname or alias.name, f"{node.module}.{alias.name}"


def notebook_bindings(sources: Iterable[str]) -> dict[str, set[str]]:
    """Name -> the dotted origins an import statement in any of ``sources`` gives it."""
    bindings: dict[str, set[str]] = {}
    for source in sources:
        tree = _python(source)
        for name, origin in _imports(tree) if tree else ():
            bindings.setdefault(name, set()).add(origin)
    return bindings


def _own_names(tree: ast.AST) -> set[str]:
    """Names the cell binds itself other than by importing (defs, assignments, arguments)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _string_imports(tree: ast.AST) -> Iterable[str]:
    """``__import__("jax")``, ``importlib.import_module("jax")``, ``sys.modules["jax"]``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in ("__import__", "import_module") and isinstance(node.args[0].value, str):
                yield node.args[0].value
        elif (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
              and isinstance(node.slice.value, str) and isinstance(node.value, ast.Attribute)
              and node.value.attr == "modules"):
            yield node.slice.value


def forbidden_uses(answer: str, forbidden: Iterable[str],
                   bindings: dict[str, set[str]] | None = None) -> list[str]:
    """What in the answer cell ``answer`` comes from a forbidden module, sorted.

    ``bindings`` are the imports of the whole notebook (:func:`notebook_bindings`): a name
    the answer reads but does not bind itself counts when an import anywhere bound it to a
    forbidden module.
    """
    tree = _python(answer)
    if tree is None:
        return []
    forbidden = frozenset(forbidden)
    found: set[str] = set()
    for _, origin in _imports(tree):
        if matches(origin, forbidden):
            found.add(origin)
    found.update(name for name in _string_imports(tree) if matches(name, forbidden))
    own = _own_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in own:
            for origin in (bindings or {}).get(node.id, ()):
                if matches(origin, forbidden):
                    found.add(origin)
    return sorted(found)


def violations(answers: dict[str, str], sources: Iterable[str]) -> dict[str, str]:
    """Exercise -> failure message, for answer cells (grade_id -> source) that break the rule.

    ``sources`` are all code cells of the notebook, for the names their imports bind.
    """
    bindings = notebook_bindings(sources)
    failed = {}
    for exercise, source in answers.items():
        rule = BY_HAND.get(exercise)
        uses = forbidden_uses(source, rule.forbidden, bindings) if rule else []
        if uses:
            failed[exercise] = message(exercise, rule, uses)
    return failed


# ------------------------------------------------------------------------- live (checks)


def _origin(obj: object) -> str | None:
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        return None
    name = getattr(obj, "__name__", None)
    return f"{module}.{name}" if isinstance(name, str) else module


def _student(obj: object) -> bool:
    """Code that does not come from an imported module: a notebook's, or exec'd."""
    module = getattr(obj, "__module__", None) or ""
    return module.startswith("__") or module not in sys.modules


def _codes(code: types.CodeType) -> Iterable[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _imported_in(code: types.CodeType) -> Iterable[str]:
    module = ""
    for instruction in dis.get_instructions(code):
        if instruction.opname == "IMPORT_NAME":
            module = str(instruction.argval)
            yield module
        elif instruction.opname == "IMPORT_FROM":
            yield f"{module}.{instruction.argval}"


def _students(items: Iterable[object]) -> list[object]:
    """The student's own functions, classes and instances among ``items``."""
    return [item for item in items if not isinstance(item, types.ModuleType) and (
        _student(item) if isinstance(item, types.FunctionType | type) else _student(type(item)))]


def forbidden_in(obj: object, forbidden: Iterable[str], _seen: set[int] | None = None,
                 ) -> str | None:
    """The first forbidden thing the live object ``obj`` uses, as a dotted name, or None.

    Follows the student's own code: functions (their imports, the globals they read,
    their closures, nested functions), classes (their methods) and instances (their
    class). Library code is not entered, except to find the student's code in the closure
    of a library function, such as a checker's wrapper around the student's function
    (which is why ``obj`` itself may be one of the course's own functions).
    """
    root = _seen is None
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return None
    seen.add(id(obj))

    def walk(items: Iterable[object]) -> str | None:
        return next((hit for item in items if (hit := forbidden_in(item, forbidden, seen))),
                    None)

    if isinstance(obj, types.ModuleType):
        return obj.__name__ if matches(obj.__name__, forbidden) else None
    origin = _origin(obj)
    if origin and matches(origin, forbidden) and not (root and origin.startswith("course.")):
        return origin
    if isinstance(obj, types.MethodType):
        return walk([obj.__func__, obj.__self__])
    if isinstance(obj, staticmethod | classmethod):
        return walk([obj.__func__])
    if isinstance(obj, property):
        return walk([obj.fget, obj.fset])
    if isinstance(obj, types.FunctionType):
        closure = []
        for cell in obj.__closure__ or ():
            try:
                closure.append(cell.cell_contents)
            except ValueError:  # an empty cell
                continue
        if not _student(obj):
            return walk(_students(closure))
        for code in _codes(obj.__code__):
            hit = next((m for m in _imported_in(code) if matches(m, forbidden)), None)
            hit = hit or walk(obj.__globals__[name] for name in code.co_names
                              if name in obj.__globals__)
            if hit:
                return hit
        return walk(closure)
    if isinstance(obj, type):
        return walk(vars(obj).values()) if _student(obj) else None
    if _student(type(obj)):
        return walk([type(obj)])
    return None


_checked: dict[str, int] = {}


def warn_once(label: str, fn: object) -> None:
    """In a visible check: say (once per name, on stdout) that ``fn`` uses a forbidden module."""
    rule = BY_NAME.get(label)
    if rule is None or _checked.get(label) in (id(fn), -1):
        return
    _checked[label] = id(fn)
    try:
        hit = forbidden_in(fn, rule.forbidden)
    except Exception:  # a warning must never break a check
        return
    if hit:
        _checked[label] = -1
        print(f"\N{WARNING SIGN} {message(label, rule, [hit])}")


# --------------------------------------------------------------- run time (grading)
#
# While a by-hand exercise's function runs inside ``course.checking.call`` in a grading
# kernel, a global trace function (``sys.settrace``, and ``threading.settrace`` for threads
# started meanwhile) sees every Python frame that starts; it never traces lines, so it costs
# one call per frame. A frame of a forbidden library looks up its callers for the nearest
# *boundary*: a frame of the student's code (a violation: the student's code called the
# library, directly or through any number of library layers, ``exec``, helpers from other
# cells or course wrappers), or of trusted code (course code the rule does not forbid, and
# callables the checker itself passed as arguments, such as a ``grad_fn`` handed to the
# student's optimizer). Other library frames, and course code the rule forbids (the oracle,
# the checkers, ``course.expr.to_sympy``), are transparent: what they reach decides.

_STUDENT, _TRUSTED, _LIBRARY, _FORBIDDEN, _MIXED, _WRAPPER = range(6)
_COURSE_PREFIX = "course."
#: Forbidden libraries and the packages that carry their machinery.
_COMPANIONS = {"jax": ("jaxlib",), "torch": ("functorch",)}


def _top_level(forbidden: Iterable[str]) -> frozenset[str]:
    """The forbidden library packages (not course code), with their companions."""
    tops = {name for name in forbidden if not name.startswith(_COURSE_PREFIX)}
    for name in list(tops):
        tops.update(_COMPANIONS.get(name, ()))
    return frozenset(tops)


def _function_codes(dotted: str) -> set[int]:
    """Ids of the code objects (nested ones included) of the course function ``dotted``."""
    module_name, _, attribute = dotted.rpartition(".")
    module = sys.modules.get(module_name)
    function = getattr(module, attribute, None) if module is not None else None
    code = getattr(function, "__code__", None)
    return {id(c) for c in _codes(code)} if isinstance(code, types.CodeType) else set()


class _Classifier:
    """What a frame is for one rule, decided from its module's name (cached per module)."""

    def __init__(self, forbidden: frozenset[str]) -> None:
        self.forbidden = forbidden
        self.libraries = _top_level(forbidden)
        self.kinds: dict[int, int] = {}  # id(module globals) -> kind, real modules only
        self.forbidden_codes: set[int] = set()
        for name in forbidden:
            if name.startswith(_COURSE_PREFIX) and name.rpartition(".")[0] in sys.modules \
                    and not isinstance(sys.modules.get(name), types.ModuleType):
                self.forbidden_codes |= _function_codes(name)

    def _by_name(self, name: str) -> int:
        if name.startswith(_COURSE_PREFIX):
            if matches(name, self.forbidden):
                return _WRAPPER
            if any(rule.startswith(name + ".") for rule in self.forbidden):
                return _MIXED
            return _TRUSTED
        if name == "__main__" or name.startswith("__"):
            return _STUDENT
        top = name.partition(".")[0]
        return _FORBIDDEN if top in self.libraries else _LIBRARY

    def kind(self, namespace: dict) -> int:
        """The kind of code running with globals ``namespace``."""
        known = self.kinds.get(id(namespace))
        if known is not None:
            return known
        name = namespace.get("__name__")
        module = sys.modules.get(name) if isinstance(name, str) else None
        real = module is not None and getattr(module, "__dict__", None) is namespace
        if not real:  # exec'd or generated code: only real course modules are trusted
            kind = _STUDENT if not isinstance(name, str) else self._by_name(name)
            return _STUDENT if kind in (_TRUSTED, _MIXED) else kind
        kind = self._by_name(name)
        if kind == _LIBRARY and not _in_library(getattr(module, "__file__", None)):
            kind = _STUDENT  # a module the submission wrote and imported
        self.kinds[id(namespace)] = kind
        return kind


_classifiers: dict[frozenset[str], _Classifier] = {}


def _classifier(forbidden: frozenset[str]) -> _Classifier:
    if forbidden not in _classifiers:
        _classifiers[forbidden] = _Classifier(forbidden)
    return _classifiers[forbidden]


def _library_roots() -> tuple[str, ...]:
    import os
    import sysconfig

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(path for key, path in sysconfig.get_paths().items()
                 if key in ("stdlib", "platstdlib", "purelib", "platlib"))
    roots.add(os.path.dirname(os.path.abspath(__file__)))
    found = set()
    for root in roots:
        if root and root != os.sep:
            found.update({os.path.join(root, ""), os.path.join(os.path.realpath(root), "")})
    return tuple(sorted(found))


_LIBRARY_ROOTS = _library_roots()


def _in_library(filename: object) -> bool:
    """Whether ``filename`` is the file of installed or course code (not the submission's)."""
    return isinstance(filename, str) and (
        filename.startswith(_LIBRARY_ROOTS) or filename.startswith("<frozen "))


def _allowed_codes(values: Iterable[object]) -> set[int]:
    """Ids of the code of callables the checker passed (the student's own are not allowed)."""
    codes: set[int] = set()

    def add(value: object, depth: int) -> None:
        if depth > 2:
            return
        if isinstance(value, list | tuple):
            for item in value[:64]:
                add(item, depth + 1)
        elif isinstance(value, dict):
            for item in list(value.values())[:64]:
                add(item, depth + 1)
        elif isinstance(value, types.MethodType):
            add(value.__func__, depth)
        elif isinstance(value, types.FunctionType):
            if _in_library(value.__code__.co_filename):  # where its code is, not its __module__
                codes.update(id(code) for code in _codes(value.__code__))
        elif isinstance(value, functools.partial):
            add(value.func, depth)
        elif callable(value) and not isinstance(value, type):
            method = next((vars(c)["__call__"] for c in type(value).__mro__
                           if "__call__" in vars(c)), None)
            if isinstance(method, types.FunctionType):
                add(method, depth)

    for value in values:
        add(value, 0)
    return codes


class Watch:
    """Watch the code one call of a by-hand exercise runs (a context manager).

    ``found`` is the first forbidden function the student's code reached, as a dotted
    name, or None. ``fn`` is what the checker calls; ``passed`` are the arguments it gives
    (its callables are trusted, the student's are not).
    """

    def __init__(self, rule: ByHand, fn: object, passed: Iterable[object],
                 exercise: str = "") -> None:
        self.rule = rule
        self.exercise = exercise
        self.classifier = _classifier(rule.forbidden)
        # gc callbacks (jax registers one) run wherever a collection happens to start
        self.allowed = _allowed_codes([fn, *passed, *gc.callbacks])
        self.hits: list[str] = []

    @property
    def found(self) -> str | None:
        return self.hits[0] if self.hits else None

    def _tracer(self, root: int):
        """A global trace function: called once per new frame, it never traces lines.

        A frame of a forbidden library looks up its callers for the nearest boundary:
        the student's code (a violation), or trusted code (the course's own, a callable
        the checker passed, a gc callback, a finalizer). ``root`` is what lies above the
        first frame of a thread (the checker's call for the main thread).
        """
        kind_of = self.classifier.kind
        allowed = self.allowed
        forbidden_codes = self.classifier.forbidden_codes
        hits = self.hits

        def boundary(frame) -> int:
            while frame is not None:
                kind = kind_of(frame.f_globals)
                if kind != _LIBRARY:
                    if kind == _MIXED:
                        kind = _WRAPPER if id(frame.f_code) in forbidden_codes else _TRUSTED
                    if kind != _TRUSTED and allowed and id(frame.f_code) in allowed:
                        return _TRUSTED
                    if kind in (_STUDENT, _TRUSTED):
                        return kind
                    if kind == _FORBIDDEN and frame.f_code.co_name == "__del__":
                        return _TRUSTED  # finalizers run wherever they fall
                frame = frame.f_back
            return root

        def trace(frame, event, arg):
            if not hits and kind_of(frame.f_globals) == _FORBIDDEN and (
                    boundary(frame) == _STUDENT):
                hits.append(_dotted(frame))

        return trace

    def __enter__(self) -> Watch:
        import threading

        self.previous = sys.gettrace(), threading.gettrace()
        self.tracer, self.thread_tracer = self._tracer(_TRUSTED), self._tracer(_STUDENT)
        threading.settrace(self.thread_tracer)
        sys.settrace(self.tracer)
        return self

    def __exit__(self, *exc: object) -> None:
        import threading

        current = sys.gettrace(), threading.gettrace()
        sys.settrace(self.previous[0])
        threading.settrace(self.previous[1])
        if current != (self.tracer, self.thread_tracer):
            self.tampered = True

    tampered = False

    def check_answer(self, value: object) -> None:
        """Count an answer that is (or holds) a forbidden library's object as a violation."""
        if not self.hits:
            hit = _forbidden_value(value, self.classifier.libraries, 0)
            if hit:
                self.hits.append(hit)


def _dotted(frame) -> str:
    """What a forbidden frame runs, as shown to the student: a course function by its name,
    a library by its public module path (``jax``, not ``jax._src.api``)."""
    module = frame.f_globals.get("__name__")
    if not isinstance(module, str):
        return "?"
    if module.startswith(_COURSE_PREFIX):
        return f"{module}.{frame.f_code.co_qualname}"
    public = []
    for part in module.split("."):
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join(public) or module


def _forbidden_value(value: object, libraries: frozenset[str], depth: int) -> str | None:
    """The type of a forbidden library's object found in ``value`` (an answer), if any."""
    if depth > 3:
        return None
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    if isinstance(module, str) and module.partition(".")[0] in libraries:
        return f"{module}.{kind.__qualname__}"
    items: Iterable[object] = ()
    if kind in (list, tuple):
        items = value[:64]  # type: ignore[index]
    elif kind is dict:
        items = list(value.values())[:64]  # type: ignore[union-attr]
    elif _student(kind):
        items = [v for k, v in list(getattr(value, "__dict__", {}).items())[:32]
                 if isinstance(k, str)]
    return next((hit for item in items
                 if (hit := _forbidden_value(item, libraries, depth + 1))), None)


def rule_for(exercise: str | None, label: str) -> tuple[str, ByHand] | None:
    """The exercise and rule a call belongs to: by the running check, else by the name."""
    if exercise:
        for name in (exercise, exercise.removesuffix("_property")):
            if name in BY_HAND:
                return name, BY_HAND[name]
        return None
    rule = BY_NAME.get(label)
    if rule is None:
        return None
    owner = next((name for name, r in BY_HAND.items() if r is rule), label)
    return owner, rule
