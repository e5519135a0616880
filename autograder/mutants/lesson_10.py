"""Common mistakes and alternative right answers for 10-second-order."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "10-second-order"

_p = patcher(LESSON)


# ------------------------------------------------------------------ jacobian_by_columns

_COLUMNS = [
    Mutant("jacobian_by_columns", "columns stacked as rows (the transpose)",
           _p("jacobian_by_columns", ("np.stack(columns, axis=1)", "np.stack(columns, axis=0)")),
           r"transpose"),
    Mutant("jacobian_by_columns", "tangent of ones instead of the unit vector e_j",
           _p("jacobian_by_columns", ("jnp.zeros_like(x).at[j].set(1.0)", "jnp.ones_like(x)")),
           r"unit\s+vector e_j"),
    Mutant("jacobian_by_columns", "kept the primal output of jax.jvp",
           _p("jacobian_by_columns", ("_, column = jax.jvp", "column, _ = jax.jvp")),
           r"FIRST output of jax.jvp"),
    Mutant("jacobian_by_columns", "handed to jax.jacfwd",
           _p("jacobian_by_columns",
              ("    columns = []\n",
               "    return np.asarray(jax.jacfwd(f)(x))\n"
               "    columns = []\n")),
           r"calls `jacfwd`"),
    Mutant("jacobian_by_columns", "built by rows, one jax.vjp per output", '''\
def jacobian_by_columns(f, x):
    """The Jacobian of f at x."""
    x = jnp.asarray(x, dtype=jnp.float64)
    m = np.asarray(f(x)).shape[0]
    rows = []
    for i in range(m):
        _, pullback = jax.vjp(f, x)
        (row,) = pullback(jnp.zeros(m).at[i].set(1.0))
        rows.append(np.asarray(row))
    return np.stack(rows)
''', r"once per OUTPUT"),
]

_COLUMNS_ALT = [
    Alternative("jacobian_by_columns", "jax.linearize once, the linear map applied per column",
                '''\
def jacobian_by_columns(f, x):
    """The Jacobian of f at x, column by column from one linearisation."""
    _, f_jvp = jax.linearize(f, jnp.asarray(x, dtype=jnp.float64))
    eye = np.eye(len(x))
    return np.column_stack([np.asarray(f_jvp(eye[:, j])) for j in range(len(x))])
'''),
    Alternative("jacobian_by_columns", "preallocated numpy array filled column by column", '''\
def jacobian_by_columns(f, x):
    """The Jacobian of f at x, one jvp per column."""
    x = np.array(x, dtype=float)
    J = None
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = 1.0
        _, column = jax.jvp(f, (x,), (e,))
        if J is None:
            J = np.empty((np.size(column), x.size))
        J[:, j] = column
    return J
'''),
]


# --------------------------------------------------------------------- jacobian_by_rows

_ROWS = [
    Mutant("jacobian_by_rows", "one jax.vjp linearisation per row", _p(
        "jacobian_by_rows",
        ("        (row,) = pullback(e_i)", "        _, pullback = jax.vjp(f, x)\n"
                                          "        (row,) = pullback(e_i)")),
        r"once per output"),
    Mutant("jacobian_by_rows", "rows stacked as columns (the transpose)",
           _p("jacobian_by_rows", ("np.stack(rows, axis=0)", "np.stack(rows, axis=1)")),
           r"transpose"),
    Mutant("jacobian_by_rows", "cotangent of ones instead of the unit vector e_i",
           _p("jacobian_by_rows", ("jnp.zeros_like(y).at[i].set(1.0)", "jnp.ones_like(y)")),
           r"unit vector\s+e_i"),
    Mutant("jacobian_by_rows", "handed to jax.jacrev",
           _p("jacobian_by_rows", ("    y, pullback", "    return np.asarray(jax.jacrev(f)(x))\n"
                                   "    y, pullback")),
           r"calls `jacrev`"),
]

_ROWS_ALT = [
    Alternative("jacobian_by_rows", "linearize, then linear_transpose for the rows", '''\
def jacobian_by_rows(f, x):
    """The Jacobian of f at x, one row per transposed product."""
    x = jnp.asarray(x, dtype=jnp.float64)
    y, f_jvp = jax.linearize(f, x)
    f_vjp = jax.linear_transpose(f_jvp, x)
    eye = jnp.eye(y.shape[0])
    return np.array([np.asarray(f_vjp(eye[i])[0]) for i in range(y.shape[0])])
'''),
    Alternative("jacobian_by_rows", "list of numpy unit covectors, vstack", '''\
def jacobian_by_rows(f, x):
    """The Jacobian of f at x, one pullback per row."""
    y, pullback = jax.vjp(f, np.array(x, dtype=float))
    m = np.shape(y)[0]
    return np.vstack([np.asarray(pullback(np.eye(m)[i])[0]) for i in range(m)])
'''),
]


# ---------------------------------------------------------------------------------- hvp

_HVP = [
    Mutant("hvp", "returned the primal output of jax.jvp (the gradient)",
           _p("hvp", ("_, tangent = jax.jvp", "tangent, _ = jax.jvp")),
           r"the gradient grad f\(x\)"),
    Mutant("hvp", "finite difference of gradients", '''\
def hvp(f, x, v):
    """Hessian-vector product."""
    eps = 1e-6
    grad = jax.grad(f)
    return (np.asarray(grad(x + eps * v)) - np.asarray(grad(x))) / eps
''', r"finite difference of gradients"),
    Mutant("hvp", "formed the Hessian with jax.hessian",
           _p("hvp", ("    return np.asarray(tangent)",
                      "    return np.asarray(jax.hessian(f)(x)) @ v")),
           r"calls `hessian`"),
    Mutant("hvp", "built the Hessian column by column from HVPs, then multiplied", '''\
def hvp(f, x, v):
    """Hessian-vector product."""
    grad = jax.grad(f)
    n = len(x)
    H = np.column_stack([np.asarray(jax.jvp(grad, (x,), (np.eye(n)[j],))[1]) for j in range(n)])
    return H @ v
''', r"one column at a time"),
    Mutant("hvp", "sign flipped",
           _p("hvp", ("return np.asarray(tangent)", "return -np.asarray(tangent)")),
           r"sign is flipped"),
]

_HVP_ALT = [
    Alternative("hvp", "reverse-over-reverse: the gradient of grad f . v", '''\
def hvp(f, x, v):
    """Hessian-vector product by reverse over reverse."""
    v = jnp.asarray(v)
    return np.asarray(jax.grad(lambda y: jnp.vdot(jax.grad(f)(y), v))(jnp.asarray(x)))
'''),
    Alternative("hvp", "jax.linearize of the gradient", '''\
def hvp(f, x, v):
    """Hessian-vector product from the linearised gradient."""
    _, grad_jvp = jax.linearize(jax.grad(f), jnp.asarray(x, dtype=jnp.float64))
    return np.array(grad_jvp(jnp.asarray(v, dtype=jnp.float64)))
'''),
]


# ---------------------------------------------------------------------- top_eigenvalue

_POWER = [
    Mutant("top_eigenvalue", "Rayleigh quotient of the iterate before the last step", '''\
def top_eigenvalue(matvec, n, num_iters=100, seed=0):
    """Power iteration."""
    v = np.random.default_rng(seed).standard_normal(n)
    v = v / np.linalg.norm(v)
    lam = 0.0
    for _ in range(num_iters):
        w = matvec(v)
        lam = float(v @ w)
        v = w / np.linalg.norm(w)
    return lam
''', r"BEFORE the last step"),
    Mutant("top_eigenvalue", "returned |A v| instead of the Rayleigh quotient",
           _p("top_eigenvalue", ("return float(v @ matvec(v))",
                                 "return float(np.linalg.norm(matvec(v)))")),
           r"\|A v\|"),
    Mutant("top_eigenvalue", "never normalised", _p(
        "top_eigenvalue", ("    v = v / np.linalg.norm(v)\n", ""),
        ("        v = w / np.linalg.norm(w)", "        v = w")),
        r"never normalised"),
    Mutant("top_eigenvalue", "rebuilt A from unit vectors for numpy.linalg.eigvalsh", '''\
def top_eigenvalue(matvec, n, num_iters=100, seed=0):
    """Largest eigenvalue."""
    A = np.column_stack([matvec(e) for e in np.eye(n)])
    return float(np.linalg.eigvalsh(A)[-1])
''', r"calls `eigvalsh`"),
]

_POWER_ALT = [
    Alternative("top_eigenvalue", "normalise at the top of the loop, quotient over v.v", '''\
def top_eigenvalue(matvec, n, num_iters=100, seed=0):
    """Power iteration."""
    v = np.random.default_rng(seed).standard_normal(n)
    for _ in range(num_iters):
        v = v / np.sqrt(v @ v)
        v = matvec(v)
    v = v / np.sqrt(v @ v)
    Av = matvec(v)
    return float(np.dot(v, Av) / np.dot(v, v))
'''),
]


# ------------------------------------------------------------------------ backtracking

_SEARCH = [
    Mutant("backtracking", "sufficient-decrease term with the wrong sign",
           _p("backtracking", ("fx + c * alpha * slope", "fx - c * alpha * slope")),
           r"wrong sign"),
    Mutant("backtracking", "c left out (plain decrease)",
           _p("backtracking", ("fx + c * alpha * slope", "fx")),
           r"c was left out"),
    Mutant("backtracking", "slope -|g|^2 in place of g.d",
           _p("backtracking", ("slope = float(np.dot(g, d))", "slope = -float(np.dot(g, g))")),
           r"slope must be g.d"),
    Mutant("backtracking", "shrinks before the first trial",
           _p("backtracking", ("alpha = alpha0\n", "alpha = alpha0 * rho\n")),
           r"first trial must be alpha0"),
    Mutant("backtracking", "returns the last rejected step", _p(
        "backtracking", ("    alpha = alpha0\n", "    alpha = alpha0\n    rejected = alpha0\n"),
        ("        alpha *= rho\n", "        rejected = alpha\n        alpha *= rho\n"),
        ("    return alpha", "    return rejected")),
        r"last REJECTED step"),
    Mutant("backtracking", "every trial step evaluated up front, the first accepted kept", _p(
        "backtracking",
        ("    alpha = alpha0\n    while f(x + alpha * d) > fx + c * alpha * slope:\n"
         "        alpha *= rho\n    return alpha",
         "    alphas = [alpha0 * rho**j for j in range(40)]\n"
         "    return [a for a in alphas if f(x + a * d) <= fx + c * a * slope][0]")),
        r"evaluated f"),
]

_SEARCH_ALT = [
    Alternative("backtracking", "for loop over j with alpha0 * rho**j", '''\
def backtracking(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4):
    """Armijo backtracking line search."""
    f0, gd = f(x), g @ d
    j = 0
    while True:
        alpha = alpha0 * rho**j
        if f(x + alpha * d) <= f0 + c * alpha * gd:
            return alpha
        j += 1
'''),
]


# ------------------------------------------------------------------ conjugate_gradient

_CG = [
    Mutant("conjugate_gradient", "absolute stopping test norm(r) <= tol",
           _p("conjugate_gradient", ("stop = tol * np.linalg.norm(b)", "stop = tol")),
           r"must be relative"),
    Mutant("conjugate_gradient", "max_iter ignored",
           _p("conjugate_gradient", ("max_iter = b.shape[0] if max_iter is None else max_iter",
                                     "max_iter = b.shape[0]")),
           r"max_iter = \d+ was ignored"),
    Mutant("conjugate_gradient", "x moved along -alpha p",
           _p("conjugate_gradient", ("x = x + alpha * p", "x = x - alpha * p")),
           r"sign is flipped"),
    Mutant("conjugate_gradient", "one iteration too few",
           _p("conjugate_gradient", ("for _ in range(max_iter):", "for _ in range(max_iter - 1):")),
           r"one iteration too few"),
    Mutant("conjugate_gradient", "returned the residual",
           _p("conjugate_gradient", ("    return x", "    return r")),
           r"the residual r"),
    Mutant("conjugate_gradient", "rebuilt A from unit vectors for numpy.linalg.solve", '''\
def conjugate_gradient(matvec, b, tol=1e-10, max_iter=None):
    """Solve A x = b."""
    A = np.column_stack([matvec(e) for e in np.eye(len(b))])
    return np.linalg.solve(A, b)
''', r"calls `solve`"),
    Mutant("conjugate_gradient", "rebuilt A from unit vectors, then CG on the matrix", _p(
        "conjugate_gradient",
        ("    x = np.zeros_like(b)\n",
         "    A = np.column_stack([matvec(e) for e in np.eye(len(b))])\n"
         "    x = np.zeros_like(b)\n"),
        ("Ap = matvec(p)", "Ap = A @ p")),
        r"rebuil(t|ds) the \d+ x \d+ matrix"),
]

_CG_ALT = [
    Alternative("conjugate_gradient", "residual recomputed as b - A x every iteration", '''\
def conjugate_gradient(matvec, b, tol=1e-10, max_iter=None):
    """Conjugate gradient from x = 0."""
    n = len(b)
    if max_iter is None:
        max_iter = n
    x = np.zeros(n)
    r = np.array(b, dtype=float)
    p = r.copy()
    k = 0
    while np.linalg.norm(r) > tol * np.linalg.norm(b) and k < max_iter:
        Ap = matvec(p)
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_new = b - matvec(x)
        beta = (r_new @ r_new) / (r @ r)
        p = r_new + beta * p
        r = r_new
        k += 1
    return x
'''),
]


# ---------------------------------------------------------------------- newton_cg_step

_NEWTON = [
    Mutant("newton_cg_step", "full Newton step, no line search",
           _p("newton_cg_step", ("return x + alpha * d", "return x + d")),
           r"full Newton step"),
    Mutant("newton_cg_step", "returned the direction",
           _p("newton_cg_step", ("return x + alpha * d", "return d")),
           r"Newton direction d itself"),
    Mutant("newton_cg_step", "gradient step instead of the Newton direction",
           _p("newton_cg_step", ("d = conjugate_gradient(lambda v: hvp(f, x, v), -g)", "d = -g")),
           r"gradient-descent step"),
    Mutant("newton_cg_step", "solved H d = g (uphill)",
           _p("newton_cg_step", ("hvp(f, x, v), -g)", "hvp(f, x, v), g)")),
           r"descent direction"),
    Mutant("newton_cg_step", "formed the Hessian and solved with numpy", _p(
        "newton_cg_step", ("d = conjugate_gradient(lambda v: hvp(f, x, v), -g)",
                           "d = np.linalg.solve(np.asarray(jax.hessian(f)(x)), -g)")),
        r"calls `hessian`, `solve`"),
]

_NEWTON_ALT = [
    Alternative("newton_cg_step", "value_and_grad, explicit defaults", '''\
def newton_cg_step(f, x):
    """One Newton-CG step."""
    x = np.array(x, dtype=float)
    _, g = jax.value_and_grad(f)(x)
    g = np.asarray(g)
    d = conjugate_gradient(lambda v: hvp(f, x, v), -g, tol=1e-10, max_iter=None)
    return x + backtracking(f, x, d, g, alpha0=1.0, rho=0.5, c=1e-4) * d
'''),
]

MUTANTS = [*_COLUMNS, *_ROWS, *_HVP, *_POWER, *_SEARCH, *_CG, *_NEWTON]
ALTERNATIVES = [*_COLUMNS_ALT, *_ROWS_ALT, *_HVP_ALT, *_POWER_ALT, *_SEARCH_ALT, *_CG_ALT,
                *_NEWTON_ALT]
