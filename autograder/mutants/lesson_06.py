"""Common mistakes and alternative right answers for 06-gradient-descent."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "06-gradient-descent"

_p = patcher(LESSON)


# --------------------------------------------------------------------- gradient_descent

_GD_STEP = "x_new = x - lr * np.asarray(grad_fn(x), dtype=float)"
_GD_STOP = "converged = tol is not None and np.max(np.abs(x_new - x)) < tol"
_GD_LOOP = """\
    for _ in range(num_steps):
        x_new = x - lr * np.asarray(grad_fn(x), dtype=float)
        iterates.append(x_new)
        converged = tol is not None and np.max(np.abs(x_new - x)) < tol
        x = x_new
        if converged:
            break
"""

_GRADIENT_DESCENT = [
    Mutant("gradient_descent", "sign flip: x + lr * grad (gradient ascent)",
           _p("gradient_descent", (_GD_STEP, _GD_STEP.replace("x - lr", "x + lr"))),
           r"stepped uphill"),
    Mutant("gradient_descent", "learning rate forgotten: x - grad",
           _p("gradient_descent", (_GD_STEP, _GD_STEP.replace("lr * ", ""))),
           r"learning rate is missing"),
    Mutant("gradient_descent", "x0 left out of the iterates",
           _p("gradient_descent", ("iterates = [x]", "iterates = []")),
           r"first row must be x0"),
    Mutant("gradient_descent", "one step too few: range(num_steps - 1)",
           _p("gradient_descent", ("range(num_steps)", "range(num_steps - 1)")),
           r"one step too few"),
    Mutant("gradient_descent", "one step too many: range(num_steps + 1)",
           _p("gradient_descent", ("range(num_steps)", "range(num_steps + 1)")),
           r"one step too many"),
    Mutant("gradient_descent", "x updated in place and the same array appended every step",
           _p("gradient_descent", (_GD_LOOP, """\
    for _ in range(num_steps):
        step = lr * np.asarray(grad_fn(x), dtype=float)
        x -= step
        iterates.append(x)
        if tol is not None and np.max(np.abs(step)) < tol:
            break
""")),
           r"same array"),
    Mutant("gradient_descent", "the caller's x0 modified in place (np.asarray, then x -= ...)",
           _p("gradient_descent",
              ("x = np.array(x0, dtype=float)", "x = np.asarray(x0, dtype=float)"),
              ("iterates = [x]", "iterates = [x.copy()]"),
              (_GD_LOOP, """\
    for _ in range(num_steps):
        step = lr * np.asarray(grad_fn(x), dtype=float)
        x -= step
        iterates.append(x.copy())
        if tol is not None and np.max(np.abs(step)) < tol:
            break
""")),
           r"modified its argument `x0` in place"),
    Mutant("gradient_descent", "stopping rule <= tol instead of < tol",
           _p("gradient_descent", (_GD_STOP, _GD_STOP.replace("< tol", "<= tol"))),
           r"<= tol; the rule is strictly < tol"),
    Mutant("gradient_descent", "change measured with the Euclidean norm",
           _p("gradient_descent",
              (_GD_STOP, _GD_STOP.replace("np.max(np.abs(x_new - x))",
                                          "np.linalg.norm(x_new - x)"))),
           r"Euclidean norm"),
    Mutant("gradient_descent", "stopped on a small gradient instead of a small change",
           _p("gradient_descent",
              (_GD_STOP, _GD_STOP.replace("np.max(np.abs(x_new - x))",
                                          "np.max(np.abs(grad_fn(x)))"))),
           r"compared the size of the gradient with tol"),
    Mutant("gradient_descent", "break before appending the converged iterate",
           _p("gradient_descent", (_GD_LOOP, """\
    for _ in range(num_steps):
        x_new = x - lr * np.asarray(grad_fn(x), dtype=float)
        if tol is not None and np.max(np.abs(x_new - x)) < tol:
            break
        iterates.append(x_new)
        x = x_new
""")),
           r"stopped before keeping the iterate"),
    Mutant("gradient_descent", "tol ignored",
           _p("gradient_descent", (_GD_STOP, "converged = False")),
           r"you ignored tol"),
    Mutant("gradient_descent", "abs forgotten in the stopping rule: max(x_new - x) < tol",
           _p("gradient_descent",
              (_GD_STOP, _GD_STOP.replace("np.max(np.abs(x_new - x))", "np.max(x_new - x)"))),
           r"compared the signed change"),
    Mutant("gradient_descent", "returned only the final x",
           _p("gradient_descent", ("return np.stack(iterates)", "return x")),
           r"returned only the last iterate"),
    Mutant("gradient_descent", "one step more after the stopping rule held",
           _p("gradient_descent", (_GD_LOOP, """\
    stop_next = False
    for _ in range(num_steps):
        x_new = x - lr * np.asarray(grad_fn(x), dtype=float)
        iterates.append(x_new)
        converged = tol is not None and np.max(np.abs(x_new - x)) < tol
        x = x_new
        if stop_next:
            break
        stop_next = converged
""")),
           r"one step more"),
    Mutant("gradient_descent", "every iterate flattened to a row: scalars come back as a column",
           _p("gradient_descent", ("return np.stack(iterates)",
                                   "return np.stack(iterates).reshape(len(iterates), -1)")),
           r"1-D array"),
]

_GRADIENT_DESCENT_ALT = [
    Alternative("gradient_descent", "preallocated array cut at the stop", '''\
def gradient_descent(grad_fn, x0, lr, num_steps, tol=None):
    """Iterates [x0, x1, ...] of x_{k+1} = x_k - lr * grad_fn(x_k), stacked on axis 0.

    With tol, stop after the first step with max(abs(x_{k+1} - x_k)) < tol (kept).
    """
    x0 = np.asarray(x0, dtype=float)
    out = np.empty((num_steps + 1, *x0.shape))
    out[0] = x0
    last = num_steps
    for k in range(1, num_steps + 1):
        out[k] = out[k - 1] - lr * np.asarray(grad_fn(out[k - 1]))
        if tol is not None and np.abs(out[k] - out[k - 1]).max() < tol:
            last = k
            break
    return out[: last + 1].copy()
'''),
    Alternative("gradient_descent", "while loop returning a plain list of iterates", '''\
def gradient_descent(grad_fn, x0, lr, num_steps, tol=None):
    """Iterates [x0, x1, ...] of x_{k+1} = x_k - lr * grad_fn(x_k), stacked on axis 0.

    With tol, stop after the first step with max(abs(x_{k+1} - x_k)) < tol (kept).
    """
    xs = [np.array(x0, dtype=float)]
    while len(xs) <= num_steps:
        step = lr * np.asarray(grad_fn(xs[-1]), dtype=float)
        xs.append(xs[-1] - step)
        if tol is not None and np.all(np.abs(xs[-1] - xs[-2]) < tol):
            break
    return xs
'''),
    Alternative("gradient_descent", "in-place update of a private copy, each iterate copied", '''\
def gradient_descent(grad_fn, x0, lr, num_steps, tol=None):
    """Iterates [x0, x1, ...] of x_{k+1} = x_k - lr * grad_fn(x_k), stacked on axis 0.

    With tol, stop after the first step with max(abs(x_{k+1} - x_k)) < tol (kept).
    """
    x = np.array(x0, dtype=float)  # our own copy: updating it in place is harmless
    history = [x.copy()]
    for _ in range(num_steps):
        previous = x.copy()
        x -= lr * np.asarray(grad_fn(x), dtype=float)
        history.append(x.copy())
        if tol is not None and abs(x - previous).max() < tol:
            break
    return np.array(history)
'''),
]


# --------------------------------------------------------------------------- normal_nll

_NORMAL_RET = "return jnp.mean(0.5 * z**2 + jnp.log(sigma) + 0.5 * jnp.log(2 * jnp.pi))"

_NORMAL_NLL = [
    Mutant("normal_nll", "forgot the mean: summed over the data",
           _p("normal_nll", (_NORMAL_RET, _NORMAL_RET.replace("jnp.mean", "jnp.sum"))),
           r"summed over the 5 data points"),
    Mutant("normal_nll", "sign flip: returned the log-likelihood, not its negative",
           _p("normal_nll", (_NORMAL_RET, "return -jnp.mean(0.5 * z**2 + jnp.log(sigma) "
                                          "+ 0.5 * jnp.log(2 * jnp.pi))")),
           r"sign is flipped"),
    Mutant("normal_nll", "constant log(2 pi) / 2 dropped",
           _p("normal_nll", (" + 0.5 * jnp.log(2 * jnp.pi)", "")),
           r"constant log\(2 pi\) / 2 .* is missing"),
    Mutant("normal_nll", "sigma treated as the variance",
           _p("normal_nll", ("z = (data - mu) / sigma", "z = (data - mu) / jnp.sqrt(sigma)"),
              ("jnp.log(sigma)", "0.5 * jnp.log(sigma)")),
           r"used sigma as the variance"),
    Mutant("normal_nll", "the 1/2 of the squared term forgotten: z**2 instead of z**2 / 2",
           _p("normal_nll", ("0.5 * z**2", "z**2")),
           r"factor 1/2 of the squared term is missing"),
    Mutant("normal_nll", "log(sigma) term forgotten",
           _p("normal_nll", (" + jnp.log(sigma)", "")),
           r"log\(sigma\) term .* is missing"),
    Mutant("normal_nll", "numpy instead of jax.numpy (jax.grad cannot trace it)",
           _p("normal_nll", (_NORMAL_RET, _NORMAL_RET.replace("jnp.", "np."))),
           r"jax.grad could not trace your function: compute it with `jax.numpy`"),
    Mutant("normal_nll", "sigma converted with float(...) (hidden from jax.grad)",
           _p("normal_nll", ("mu, sigma = params", "mu, sigma = float(params[0]), "
                                                   "float(params[1])")),
           r"do not convert to float"),
    Mutant("normal_nll", "the caller's data centred in place (data -= mu)",
           _p("normal_nll", ("z = (data - mu) / sigma", "data -= mu\n    z = data / sigma")),
           r"modified its argument `data` in place"),
    Mutant("normal_nll", "sigma wrapped in jax.lax.stop_gradient (no gradient in sigma)",
           _p("normal_nll", ("mu, sigma = params",
                             "mu, sigma = params[0], jax.lax.stop_gradient(params[1])")),
           r"gradient is not"),
]

_NORMAL_NLL_ALT = [
    Alternative("normal_nll", "jax.scipy.stats.norm.logpdf, summed and divided by n", '''\
def normal_nll(params, data):
    """Mean negative log-density of data under N(mu, sigma**2), params = (mu, sigma)."""
    from jax.scipy.stats import norm

    mu, sigma = params
    return -jnp.sum(norm.logpdf(data, loc=mu, scale=sigma)) / len(data)
'''),
    Alternative("normal_nll", "expanded: log(2 pi sigma^2) / 2 + mean squared error / 2 sigma^2",
                '''\
def normal_nll(params, data):
    """Mean negative log-density of data under N(mu, sigma**2), params = (mu, sigma)."""
    mu, sigma = params
    variance = sigma**2
    return 0.5 * jnp.log(2 * jnp.pi * variance) + jnp.mean((data - mu) ** 2) / (2 * variance)
'''),
    Alternative("normal_nll", "log of the density itself (jnp.exp, then jnp.log)", '''\
def normal_nll(params, data):
    """Mean negative log-density of data under N(mu, sigma**2), params = (mu, sigma)."""
    mu, sigma = params
    density = jnp.exp(-((data - mu) ** 2) / (2 * sigma**2)) / (sigma * jnp.sqrt(2 * jnp.pi))
    return -jnp.mean(jnp.log(density))
'''),
    Alternative("normal_nll", "Python `if` on sigma (jax.grad traces it, jax.jit would not)",
                '''\
def normal_nll(params, data):
    """Mean negative log-density of data under N(mu, sigma**2), params = (mu, sigma)."""
    mu, sigma = params
    if sigma <= 0:
        return jnp.inf
    z = (data - mu) / sigma
    return jnp.mean(0.5 * z**2 + jnp.log(sigma) + 0.5 * jnp.log(2 * jnp.pi))
'''),
]


# -------------------------------------------------------------------------- mixture_nll

_MIX_RET = "return -jnp.mean(logsumexp(logs, axis=0, b=0.5))"

_MIXTURE_NLL = [
    Mutant("mixture_nll", "weights 0.5 forgotten",
           _p("mixture_nll", (", b=0.5", "")),
           r"weights 0.5 are missing"),
    Mutant("mixture_nll", "averaged the log-densities instead of the densities",
           _p("mixture_nll", (_MIX_RET, "return -jnp.mean(0.5 * logs[0] + 0.5 * logs[1])")),
           r"averaged the two log-densities"),
    Mutant("mixture_nll", "added the two normal NLLs",
           _p("mixture_nll", (_MIX_RET, "return -jnp.mean(logs[0]) - jnp.mean(logs[1])")),
           r"added the two normal NLLs"),
    Mutant("mixture_nll", "naive log(0.5 p1 + 0.5 p2): densities underflow far from both means",
           _p("mixture_nll", (_MIX_RET, "return -jnp.mean(jnp.log(0.5 * jnp.exp(logs[0]) "
                                        "+ 0.5 * jnp.exp(logs[1])))")),
           r"underflow to 0.*logsumexp"),
    Mutant("mixture_nll", "forgot the mean: summed over the data",
           _p("mixture_nll", (_MIX_RET, _MIX_RET.replace("jnp.mean", "jnp.sum"))),
           r"summed over the 5 data points"),
    Mutant("mixture_nll", "sigmas treated as variances",
           _p("mixture_nll", ("((data - mu) / sigma) ** 2 - jnp.log(sigma)",
                              "(data - mu) ** 2 / sigma - 0.5 * jnp.log(sigma)")),
           r"used the sigmas as variances"),
    Mutant("mixture_nll", "only the first component weighted by 0.5",
           _p("mixture_nll", (_MIX_RET, "return -jnp.mean(jnp.logaddexp(jnp.log(0.5) + logs[0], "
                                        "logs[1]))")),
           r"only the first component is weighted"),
    Mutant("mixture_nll", "logsumexp without axis=0 (reduces over the data points too)",
           _p("mixture_nll", ("logsumexp(logs, axis=0, b=0.5)", "logsumexp(logs, b=0.5)")),
           r"logsumexp without axis=0"),
    Mutant("mixture_nll", "the 1/2 in the exponent forgotten",
           _p("mixture_nll", ("-0.5 * ((data - mu) / sigma) ** 2", "-((data - mu) / sigma) ** 2")),
           r"factor 1/2 of the squared term is missing"),
    Mutant("mixture_nll", "sign flip: returned the log-likelihood",
           _p("mixture_nll", (_MIX_RET, _MIX_RET.replace("-jnp.mean", "jnp.mean"))),
           r"sign is flipped"),
    Mutant("mixture_nll", "unequal weights 2/3 and 1/3",
           _p("mixture_nll", (", b=0.5", ", b=jnp.array([[2 / 3], [1 / 3]])")),
           r"unequal"),
    Mutant("mixture_nll", "constant log(2 pi) / 2 dropped",
           _p("mixture_nll", (" - 0.5 * jnp.log(2 * jnp.pi)", "")),
           r"log\(2 pi\) / 2"),
]

_MIXTURE_NLL_ALT = [
    Alternative("mixture_nll", "jnp.logaddexp with the log-weights inside", '''\
def mixture_nll(params, data):
    """Mean negative log-density under 0.5 N(mu1, sigma1**2) + 0.5 N(mu2, sigma2**2)."""
    mu1, sigma1, mu2, sigma2 = params

    def log_normal(mu, sigma):
        return -0.5 * ((data - mu) / sigma) ** 2 - jnp.log(sigma * jnp.sqrt(2 * jnp.pi))

    log_half = jnp.log(0.5)
    return -jnp.mean(jnp.logaddexp(log_half + log_normal(mu1, sigma1),
                                   log_half + log_normal(mu2, sigma2)))
'''),
    Alternative("mixture_nll", "norm.logpdf and logsumexp without weights, minus log 2", '''\
def mixture_nll(params, data):
    """Mean negative log-density under 0.5 N(mu1, sigma1**2) + 0.5 N(mu2, sigma2**2)."""
    from jax.scipy.special import logsumexp
    from jax.scipy.stats import norm

    mu1, sigma1, mu2, sigma2 = params
    logs = jnp.stack([norm.logpdf(data, mu1, sigma1), norm.logpdf(data, mu2, sigma2)], axis=1)
    return jnp.log(2.0) - jnp.mean(logsumexp(logs, axis=1))
'''),
    Alternative("mixture_nll", "log-sum-exp by hand, shifted by the larger log-density", '''\
def mixture_nll(params, data):
    """Mean negative log-density under 0.5 N(mu1, sigma1**2) + 0.5 N(mu2, sigma2**2)."""
    mu1, sigma1, mu2, sigma2 = params
    l1 = -0.5 * ((data - mu1) / sigma1) ** 2 - jnp.log(sigma1) - 0.5 * jnp.log(2 * jnp.pi)
    l2 = -0.5 * ((data - mu2) / sigma2) ** 2 - jnp.log(sigma2) - 0.5 * jnp.log(2 * jnp.pi)
    top = jnp.maximum(l1, l2)
    log_p = top + jnp.log(0.5 * jnp.exp(l1 - top) + 0.5 * jnp.exp(l2 - top))
    return -jnp.mean(log_p)
'''),
]


# ------------------------------------------------------------------------ max_stable_lr

_LR_RET = "return float(2.0 / np.linalg.eigvalsh(H)[-1])"

_MAX_STABLE_LR = [
    Mutant("max_stable_lr", "1 / lambda_max instead of 2 / lambda_max",
           _p("max_stable_lr", (_LR_RET, _LR_RET.replace("2.0 /", "1.0 /"))),
           r"not 1 / lambda_max"),
    Mutant("max_stable_lr", "smallest eigenvalue (eigvalsh sorts ascending: [0])",
           _p("max_stable_lr", (_LR_RET, _LR_RET.replace("[-1]", "[0]"))),
           r"used the smallest eigenvalue"),
    Mutant("max_stable_lr", "np.linalg.eigvals taken as sorted: its first eigenvalue",
           _p("max_stable_lr", (_LR_RET, "return float(2.0 / np.linalg.eigvals(H)[0])")),
           r"does not sort its eigenvalues|used the smallest eigenvalue"),
    Mutant("max_stable_lr", "trace instead of the largest eigenvalue",
           _p("max_stable_lr", (_LR_RET, "return float(2.0 / np.trace(H))")),
           r"used the trace"),
    Mutant("max_stable_lr", "largest diagonal entry instead of the largest eigenvalue",
           _p("max_stable_lr", (_LR_RET, "return float(2.0 / np.max(np.diag(H)))")),
           r"largest diagonal entry"),
    Mutant("max_stable_lr", "fraction upside down: lambda_max / 2",
           _p("max_stable_lr", (_LR_RET, "return float(np.linalg.eigvalsh(H)[-1] / 2.0)")),
           r"upside down"),
    Mutant("max_stable_lr", "Frobenius norm instead of the largest eigenvalue",
           _p("max_stable_lr", (_LR_RET, "return float(2.0 / np.linalg.norm(H))")),
           r"Frobenius norm"),
    Mutant("max_stable_lr", "a 1-element array (slice [-1:]) returned instead of a float",
           _p("max_stable_lr", (_LR_RET, "return 2.0 / np.linalg.eigvalsh(H)[-1:]")),
           r"return a single float"),
    Mutant("max_stable_lr", "a complex number returned (2 / complex(lambda_max))",
           _p("max_stable_lr", (_LR_RET, "return 2.0 / complex(np.linalg.eigvalsh(H)[-1])")),
           r"complex"),
    Mutant("max_stable_lr", "the caller's H scaled in place (H *= 2, then 4 / lambda_max)",
           _p("max_stable_lr",
              (_LR_RET, "H *= 2.0\n    return float(4.0 / np.linalg.eigvalsh(H)[-1])")),
           r"modified its argument `H` in place"),
]

_MAX_STABLE_LR_ALT = [
    Alternative("max_stable_lr", "spectral norm (= lambda_max for SPD H)", '''\
def max_stable_lr(H):
    """Largest stable learning rate 2 / lambda_max(H) for symmetric positive definite H."""
    return 2.0 / np.linalg.norm(H, 2)
'''),
    Alternative("max_stable_lr", "max of np.linalg.eigvals, real part", '''\
def max_stable_lr(H):
    """Largest stable learning rate 2 / lambda_max(H) for symmetric positive definite H."""
    eigenvalues = np.linalg.eigvals(H)
    return float(2.0 / max(eigenvalues.real))
'''),
    Alternative("max_stable_lr", "largest singular value from np.linalg.svd", '''\
def max_stable_lr(H):
    """Largest stable learning rate 2 / lambda_max(H) for symmetric positive definite H."""
    singular_values = np.linalg.svd(H, compute_uv=False)
    return float(2 / singular_values[0])
'''),
]


MUTANTS = [*_GRADIENT_DESCENT, *_NORMAL_NLL, *_MIXTURE_NLL, *_MAX_STABLE_LR]
ALTERNATIVES = [*_GRADIENT_DESCENT_ALT, *_NORMAL_NLL_ALT, *_MIXTURE_NLL_ALT,
                *_MAX_STABLE_LR_ALT]
