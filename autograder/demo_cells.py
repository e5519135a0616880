"""Demo cells: cells that only show something, left out when a submission is graded.

Half of a lesson's running time is its demos: plots, animations, races between
optimizers, timings. They grade nothing, and the student has already watched them run
their own code. A lesson marks such a cell with the cell tag ``demo``; when a
submission is graded, a code cell of the submission is left out (:func:`plan`) only if

1. its source is, character for character, the source of a cell the lesson's source
   notebook tags ``demo`` (a student's edit makes it the student's cell, which runs);
2. it passes :func:`side_effects`: it declares no globals, assigns no attribute or item
   of an object it did not make, calls no mutating method of one (``append``,
   ``update``, ...), touches no global random state and no file, and uses no
   ``exec``, ``globals()`` or IPython magic;
3. no cell that does run after it reads a name it binds before binding it again
   (:func:`free_names`, a flow-sensitive and conservative reading of the cell); and no
   cell that runs reads names in ways this reading cannot follow (``globals()``,
   ``eval``, magics), or else nothing is left out.

The solution canary of every class run is graded the same way, so a tag that changes a
grade stops the run before any grade is stored; the tests check that every tagged
cell of every lesson is left out of its solution and that the solution's check cells
give the same outputs either way.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import nbformat

DEMO_TAG = "demo"

#: Methods that change the object they are called on.
MUTATORS = frozenset({
    "append", "extend", "insert", "pop", "popitem", "remove", "clear", "update",
    "setdefault", "add", "discard", "sort", "reverse", "seed", "write", "writelines",
    "write_text", "write_bytes", "save", "savez", "savez_compressed", "to_csv", "dump",
    "register", "fill", "resize", "itemset", "put", "setflags", "__setitem__",
    "__setattr__", "__delitem__", "__delattr__", "set_default_device",
})
#: Functions that reach names, objects or files beyond the cell.
DYNAMIC = frozenset({
    "setattr", "delattr", "exec", "eval", "compile", "globals", "vars", "locals", "open",
    "__import__", "get_ipython", "input", "breakpoint",
})
#: Constructors in ``numpy.random`` that make their own generator (no global state).
_OWN_GENERATORS = frozenset({
    "default_rng", "Generator", "RandomState", "SeedSequence", "PCG64", "PCG64DXSM",
    "Philox", "SFC64", "MT19937", "BitGenerator",
})
_BUILTINS = frozenset(dir(builtins))


#: Code a submission may have for its demos to be left out (more: everything runs).
MAX_CODE_CHARS = 1_000_000
_CACHED_CHARS = 20_000


def parse(source: str) -> ast.Module | None:
    """The cell as Python (IPython syntax transformed), or None if it does not parse.

    Cells of the usual size are parsed once per process (the lessons' cells, and a
    class's copies of them); larger ones each time, so that no submission fills memory.
    """
    return _parse_cached(source) if len(source) <= _CACHED_CHARS else _parse(source)


def _parse(source: str) -> ast.Module | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_parse_cached = lru_cache(maxsize=2048)(_parse)


# ---------------------------------------------------------------- names a cell reads


def _target_names(node: ast.AST) -> set[str]:
    """Names an assignment target binds (attributes and items bind none)."""
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Starred):
        return _target_names(node.value)
    if isinstance(node, ast.Tuple | ast.List):
        return set().union(*(_target_names(e) for e in node.elts)) if node.elts else set()
    return set()


def _target_loads(node: ast.AST) -> set[str]:
    """Names an assignment target reads (the object of ``a.b = ...`` or ``a[i] = ...``)."""
    if isinstance(node, ast.Attribute):
        return _loads(node.value)
    if isinstance(node, ast.Subscript):
        return _loads(node.value) | _loads(node.slice)
    if isinstance(node, ast.Starred):
        return _target_loads(node.value)
    if isinstance(node, ast.Tuple | ast.List):
        return set().union(*(_target_loads(e) for e in node.elts)) if node.elts else set()
    return set()


def _function_loads(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Global names a function's body reads when it is called."""
    args = node.args
    params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    body = node.body if isinstance(node.body, list) else [node.body]
    local: set[str] = set(params)
    declared: set[str] = set()
    for statement in body:
        for sub in ast.walk(statement):
            if isinstance(sub, ast.Global | ast.Nonlocal):
                declared.update(sub.names)
            elif isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load):
                local.add(sub.id)
            elif isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                local.add(sub.name)
            elif isinstance(sub, ast.Import | ast.ImportFrom):
                local.update((a.asname or a.name).split(".")[0] for a in sub.names)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                local.add(sub.name)
    loads: set[str] = set()
    for statement in body:
        loads |= {n.id for n in ast.walk(statement)
                  if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return (loads - (local - declared)) | declared


def _loads(node: ast.AST | None) -> set[str]:
    """Names an expression reads (a lambda's global reads count as read now)."""
    if node is None:
        return set()
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, ast.Lambda):
        defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
        return _function_loads(node).union(*(_loads(d) for d in defaults))
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        first, *rest = node.generators
        targets = set().union(*(_target_names(g.target) for g in node.generators))
        inner = set().union(*(_loads(g.iter) for g in rest), *(
            _loads(i) for g in node.generators for i in g.ifs))
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        inner |= set().union(*(_loads(p) for p in parts))
        return _loads(first.iter) | (inner - targets)
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        found |= _loads(child)
    return found


def _walrus_names(node: ast.AST) -> set[str]:
    return {n.target.id for n in ast.walk(node) if isinstance(n, ast.NamedExpr)}


class _Reader:
    """Reads a cell's statements in order; ``free`` collects names read before bound."""

    def __init__(self) -> None:
        self.free: set[str] = set()
        self.deferred: set[str] = set()

    def read(self, names: set[str], bound: set[str]) -> None:
        self.free |= names - bound

    def block(self, statements: Sequence[ast.stmt], bound: set[str]) -> set[str]:
        bound = set(bound)
        for statement in statements:
            bound = self.statement(statement, bound)
        return bound

    def statement(self, node: ast.stmt, bound: set[str]) -> set[str]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            heads = [*node.decorator_list]
            if isinstance(node, ast.ClassDef):
                heads += [*node.bases, *(k.value for k in node.keywords)]
            else:  # defaults and annotations are evaluated when the function is defined
                args = node.args
                heads += [*args.defaults, *(d for d in args.kw_defaults if d), node.returns,
                          *(a.annotation for a in [*args.posonlyargs, *args.args,
                                                   *args.kwonlyargs, args.vararg, args.kwarg]
                            if a is not None)]
            for head in heads:
                self.read(_loads(head), bound)
            if isinstance(node, ast.ClassDef):
                inner = _Reader()
                inner.block(node.body, bound)
                self.read(inner.free, bound)
                self.deferred |= inner.deferred
            else:
                self.deferred |= _function_loads(node)
            return bound | {node.name}
        if isinstance(node, ast.Assign):
            self.read(_loads(node.value) | set().union(*(_target_loads(t) for t in node.targets)),
                      bound)
            return bound | _walrus_names(node.value) | set().union(
                *(_target_names(t) for t in node.targets))
        if isinstance(node, ast.AugAssign):
            self.read(_loads(node.value) | _target_loads(node.target)
                      | _target_names(node.target), bound)
            return bound | _target_names(node.target)
        if isinstance(node, ast.AnnAssign):
            self.read(_loads(node.value) | _loads(node.annotation) | _target_loads(node.target),
                      bound)
            return bound | (_target_names(node.target) if node.value is not None else set())
        if isinstance(node, ast.Import | ast.ImportFrom):
            return bound | {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.If):
            self.read(_loads(node.test), bound)
            bound = bound | _walrus_names(node.test)
            return bound | (self.block(node.body, bound) & self.block(node.orelse, bound))
        if isinstance(node, ast.While):
            self.read(_loads(node.test), bound)
            self.block(node.body, bound | _walrus_names(node.test))
            self.block(node.orelse, bound)
            return bound
        if isinstance(node, ast.For | ast.AsyncFor):
            self.read(_loads(node.iter) | _target_loads(node.target), bound)
            self.block(node.body, bound | _target_names(node.target))
            self.block(node.orelse, bound)
            return bound
        if isinstance(node, ast.With | ast.AsyncWith):
            names: set[str] = set()
            for item in node.items:
                self.read(_loads(item.context_expr), bound | names)
                if item.optional_vars is not None:
                    names |= _target_names(item.optional_vars)
            return self.block(node.body, bound | names)
        if isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
            after_body = self.block(node.body, bound)
            for handler in node.handlers:
                self.read(_loads(handler.type), bound)
                self.block(handler.body, bound | ({handler.name} if handler.name else set()))
            self.block(node.orelse, after_body)
            return self.block(node.finalbody, bound)
        if isinstance(node, ast.Match):
            self.read(_loads(node.subject), bound)
            for case in node.cases:
                captured = {n.name for n in ast.walk(case.pattern)
                            if isinstance(n, ast.MatchAs | ast.MatchStar) and n.name}
                captured |= {n.rest for n in ast.walk(case.pattern)
                             if isinstance(n, ast.MatchMapping) and n.rest}
                values = {name for n in ast.walk(case.pattern)
                          if isinstance(n, ast.MatchValue | ast.MatchClass)
                          for name in _loads(n.value if isinstance(n, ast.MatchValue) else n.cls)}
                self.read(values, bound)
                self.read(_loads(case.guard), bound | captured)
                self.block(case.body, bound | captured)
            return bound
        if isinstance(node, ast.Delete):
            names = set().union(*(_target_names(t) for t in node.targets))
            self.read(names | set().union(*(_target_loads(t) for t in node.targets)), bound)
            return bound - names
        self.read(_loads(node), bound)
        return bound | _walrus_names(node)


def free_names(source: str) -> set[str] | None:
    """Names the cell reads from earlier cells, or None if it cannot be read.

    A name read before the cell binds it, in any branch, counts; so does a global name
    a function or lambda of the cell reads when called, unless the cell binds it for
    sure by its end. Builtins do not count. Over-approximate on purpose: a name too many
    only means a demo runs.
    """
    tree = parse(source)
    if tree is None or _dynamic_calls(tree):
        return None
    reader = _Reader()
    bound = reader.block(tree.body, set())
    return (reader.free | (reader.deferred - bound)) - _BUILTINS


def bound_names(source: str) -> set[str]:
    """Every name the cell may bind at the top level (in any branch, or by ``global``)."""
    tree = parse(source)
    if tree is None:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            names.update(node.names)
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.NamedExpr):
            names.add(node.target.id)
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        if not isinstance(node, ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return names


# ---------------------------------------------------------------- side effects


def _dotted(node: ast.AST) -> list[str] | None:
    """``np.random.seed`` as ["np", "random", "seed"]; None unless a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


#: Attributes and names that reach a namespace's variables by name.
_NAMESPACE_ATTRIBUTES = frozenset({"__dict__", "__globals__", "f_globals", "f_locals",
                                   "user_ns", "modules", "import_module"})
_NAMESPACE_NAMES = frozenset({"__main__", "__builtins__", "builtins"})


def _dynamic_calls(tree: ast.AST) -> list[str]:
    """Calls of :data:`DYNAMIC` functions, and uses of a namespace by name
    (``__dict__``, ``sys.modules``, ``__main__``, a frame's ``f_globals``, ...)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in DYNAMIC:
            found.add(node.func.id)
        elif isinstance(node, ast.Attribute) and node.attr in _NAMESPACE_ATTRIBUTES:
            found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in _NAMESPACE_NAMES:
            found.add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or ""]
            found.update(m for m in modules if m.split(".")[0] in _NAMESPACE_NAMES)
    return sorted(found)


def _modules(tree: ast.Module, imports: dict[str, str]) -> dict[str, str]:
    """Import aliases, the cell's own over those of earlier cells (``np`` -> ``numpy``)."""
    found = dict(imports)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return found


def import_aliases(sources: Iterable[str]) -> dict[str, str]:
    """The import aliases all ``sources`` make, later ones over earlier ones."""
    found: dict[str, str] = {}
    for source in sources:
        tree = parse(source)
        if tree is not None:
            found = _modules(tree, found)
    return found


def _made_here(tree: ast.Module) -> set[str]:
    """Names the cell binds to objects it makes (not to imports or other names' objects)."""
    made: set[str] = set()
    for node in ast.walk(tree):
        value = None
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign):
            value, targets = node.value, node.targets
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            value, targets = node.value, [node.target]
        elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
            targets = [node.target]
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            value, targets = node.context_expr, [node.optional_vars]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            made.add(node.name)
            continue
        elif isinstance(node, ast.arg):  # a function's own parameters (``self``, ...)
            made.add(node.arg)
            continue
        if value is not None and isinstance(value, ast.Name | ast.Attribute | ast.Subscript):
            continue  # an alias of someone else's object
        for target in targets:
            made |= _target_names(target)
    return made


def side_effects(source: str, imports: dict[str, str] | None = None) -> list[str]:
    """Why leaving this cell out could change later cells (empty: it could not).

    ``imports`` maps the import aliases of earlier cells to their modules
    (:func:`import_aliases`), to tell ``numpy.random.normal`` (global state) from
    ``jax.random.normal`` (none).
    """
    tree = parse(source)
    if tree is None:
        return ["does not parse"]
    reasons = [f"calls {name}()" for name in _dynamic_calls(tree)]
    modules = _modules(tree, imports or {})
    made = _made_here(tree) - set(modules)
    for node in ast.walk(tree):
        if isinstance(node, ast.Global | ast.Nonlocal):
            reasons.append(f"declares {', '.join(node.names)} global")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            reasons.append(f"imports * from {node.module}")
        elif isinstance(node, ast.Delete):
            reasons.append("deletes names or items")
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute | ast.Subscript) \
                            and isinstance(part.ctx, ast.Store) and _root(part) not in made:
                        reasons.append(f"assigns into {_root(part) or 'an object'} "
                                       f"(line {part.lineno})")
        elif isinstance(node, ast.Call):
            reasons += _call_effects(node, made, modules)
    return sorted(set(reasons))


def _call_effects(node: ast.Call, made: set[str], modules: dict[str, str]) -> list[str]:
    func = node.func
    dotted = _dotted(func)
    if dotted is not None:
        head, *rest = dotted
        full = ".".join([modules.get(head, head), *rest]).split(".")
        module, name = ".".join(full[:-1]), full[-1]
        if module in {"numpy.random", "random"} and name not in _OWN_GENERATORS:
            return [f"uses the global random state ({'.'.join(dotted)}, line {node.lineno})"]
    if isinstance(func, ast.Attribute) and func.attr in MUTATORS and _root(func) not in made:
        return [f"calls .{func.attr}() on {_root(func) or 'an object'} (line {node.lineno})"]
    return []


# ---------------------------------------------------------------- the plan


def is_tagged(cell) -> bool:
    """Whether a notebook cell is a code cell tagged ``demo``."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and isinstance(tags, list) and DEMO_TAG in tags


def tagged_sources(notebook: Path) -> frozenset[str]:
    """The sources of the cells ``notebook`` (a lesson's source) tags ``demo``."""
    try:
        stat = notebook.stat()
    except OSError:
        return frozenset()
    return _tagged_sources(str(notebook), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _tagged_sources(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    nb = nbformat.read(path, as_version=4)
    return frozenset(cell.source for cell in nb.cells if is_tagged(cell))



def plan(sources: Sequence[str | None], demo_sources: Iterable[str]) -> set[int]:
    """Indices of the code cells to leave out; ``sources[i]`` is None for non-code cells.

    A cell is left out when it is a demo of the lesson (its source equals a tagged one),
    has no :func:`side_effects`, and no cell that runs after it reads a name it binds.
    If any cell that would run cannot be read (:func:`free_names` is None), or the cells
    hold more than :data:`MAX_CODE_CHARS` of code, nothing is left out.
    """
    return _analyse(sources, set(demo_sources))[0]


def _analyse(sources: Sequence[str | None], demos: set[str]
             ) -> tuple[set[int], dict[int, set[str]]]:
    """:func:`plan`'s cells to leave out, and, for each demo without side effects that
    must run, the names of it that a later running cell reads."""
    if sum(len(s) for s in sources if s is not None) > MAX_CODE_CHARS:
        return set(), {}
    try:
        imports = import_aliases(s for s in sources if s is not None)
        candidates = {i for i, s in enumerate(sources)
                      if s is not None and s in demos and not side_effects(s, imports)}
        left_out: set[int] = set()
        read_later: dict[int, set[str]] = {}
        needed: set[str] = set()  # names read by the cells that run after this one
        for index in range(len(sources) - 1, -1, -1):
            source = sources[index]
            if source is None:
                continue
            if index in candidates:
                clash = bound_names(source) & needed
                if not clash:
                    left_out.add(index)
                    continue
                read_later[index] = clash
            free = free_names(source)
            if free is None:
                return set(), {}
            needed |= free
        return left_out, read_later
    except RecursionError:  # a cell nested too deeply to read: run everything
        return set(), {}


def review(nb) -> list[tuple[int, str, str]]:
    """For a lesson author: (cell index, verdict, detail) for each code cell of ``nb``
    (a source notebook) that is tagged ``demo`` or could be.

    Verdicts: ``left out`` (tagged, and grading leaves it out); ``runs`` (tagged, but
    grading runs it: the detail says why); ``could be tagged`` (not tagged, and grading
    would leave it out if it were, with the other candidates).
    """
    sources = [cell.source if cell.cell_type == "code" else None for cell in nb.cells]
    code = [i for i, source in enumerate(sources) if source is not None]
    imports = import_aliases(s for s in sources if s is not None)
    tagged = {i for i in code if is_tagged(nb.cells[i])}
    left_out, read_later = _analyse(sources, {sources[i] for i in tagged})
    plain = {i for i in code[1:] if not nb.cells[i].get("metadata", {}).get("nbgrader")}
    possible = plan(sources, {sources[i] for i in plain | tagged})
    rows = []
    for index in code:
        first = sources[index].strip().splitlines()[0][:60] if sources[index].strip() else ""
        if index in left_out:
            rows.append((index, "left out", first))
        elif index in tagged:
            why = side_effects(sources[index], imports) or (
                [f"a later cell that runs reads {', '.join(sorted(read_later[index]))}"]
                if index in read_later else ["a cell of the notebook cannot be read"])
            rows.append((index, "runs", "; ".join(why)))
        elif index in possible:
            rows.append((index, "could be tagged", first))
    return rows
