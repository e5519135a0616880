"""Common mistakes and alternative right answers for 11-custom-rules."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "11-custom-rules"

_p = patcher(LESSON)

# ---------------------------------------------------------------------------- safe_norm

_NORM_RET = "return jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, s, 1.0)), 0.0)"

_SAFE_NORM = [
    Mutant("safe_norm", "a single where: the square root still sees 0",
           _p("safe_norm", ("jnp.sqrt(jnp.where(nonzero, s, 1.0))", "jnp.sqrt(s)")),
           r"differentiates BOTH branches"),
    Mutant("safe_norm", "the library norm (nan gradient at 0)",
           _p("safe_norm", (_NORM_RET, "return jnp.linalg.norm(x)")),
           r"differentiates BOTH branches"),
    Mutant("safe_norm", "a small constant inside the square root",
           _p("safe_norm", (_NORM_RET, "return jnp.sqrt(s + 1e-12)")),
           r"constant added inside the square root"),
    Mutant("safe_norm", "a Python if on the traced value (fails under jit)",
           _p("safe_norm", (_NORM_RET, "if s == 0:\n        return 0.0 * s\n"
                                       "    return jnp.sqrt(s)")),
           r"fails under jax\.jit"),
]

_SAFE_NORM_ALT = [
    Alternative("safe_norm", "lax.cond: only the taken branch is differentiated", '''\
def safe_norm(x):
    """Euclidean norm with gradient 0 at 0."""
    s = jnp.sum(x * x)
    return jax.lax.cond(s > 0, jnp.sqrt, lambda s: 0.0 * s, s)
'''),
    Alternative("safe_norm", "a custom_jvp with the rule x / norm, 0 at 0", '''\
@jax.custom_jvp
def safe_norm(x):
    """Euclidean norm with gradient 0 at 0."""
    return jnp.sqrt(jnp.sum(x**2))


@safe_norm.defjvp
def _safe_norm_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    n = safe_norm(x)
    safe_n = jnp.where(n > 0, n, 1.0)
    return n, jnp.where(n > 0, jnp.dot(x, x_dot) / safe_n, 0.0)
'''),
    Alternative("safe_norm", "the double where on x itself", '''\
def safe_norm(x):
    """Euclidean norm with gradient 0 at 0."""
    zero = jnp.all(x == 0)
    safe_x = jnp.where(zero, jnp.ones_like(x), x)
    return jnp.where(zero, 0.0, jnp.sqrt(jnp.sum(safe_x**2)))
'''),
]

# ----------------------------------------------------------------------------- softplus

_SP_VALUE = "return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))"
_SP_RULE = "return softplus(x), jax.nn.sigmoid(x) * x_dot"

_SOFTPLUS = [
    Mutant("softplus", "log(1 + exp(x)) as written (overflow)",
           _p("softplus", (_SP_VALUE, "return jnp.log(1.0 + jnp.exp(x))")),
           r"overflows to inf"),
    Mutant("softplus", "log instead of log1p in the stable form",
           _p("softplus", ("jnp.log1p(jnp.exp(-jnp.abs(x)))",
                           "jnp.log(1.0 + jnp.exp(-jnp.abs(x)))")),
           r"log1p"),
    Mutant("softplus", "rule sigmoid(-x)",
           _p("softplus", ("jax.nn.sigmoid(x) * x_dot", "jax.nn.sigmoid(-x) * x_dot")),
           r"not sigmoid\(-x\)"),
    Mutant("softplus", "rule exp(x) / (1 + exp(x)) (nan for large x)",
           _p("softplus", ("jax.nn.sigmoid(x) * x_dot",
                           "jnp.exp(x) / (1.0 + jnp.exp(x)) * x_dot")),
           r"inf / inf"),
    Mutant("softplus", "rule exp(x): the inner derivative only",
           _p("softplus", ("jax.nn.sigmoid(x) * x_dot", "jnp.exp(x) * x_dot")),
           r"derivative of the inner function"),
    Mutant("softplus", "the rule ignores the tangent",
           _p("softplus", (_SP_RULE, "return softplus(x), jax.nn.sigmoid(x)")),
           r"ignores the incoming tangent"),
    Mutant("softplus", "the library softplus instead of a custom_jvp", '''\
softplus = jax.nn.softplus
''', r"not a jax\.custom_jvp"),
    Mutant("softplus", "the stable formula as a plain function (no custom_jvp)",
           _p("softplus", ("@jax.custom_jvp\n", ""),
              ("@softplus.defjvp\n", "")),
           r"not a jax.custom_jvp"),
]

_SOFTPLUS_ALT = [
    Alternative("softplus", "logaddexp, and the rule 1 / (1 + exp(-x))", '''\
@jax.custom_jvp
def softplus(x):
    """log(1 + exp(x)), stable."""
    return jnp.logaddexp(x, 0.0)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus(x), x_dot / (1.0 + jnp.exp(-x))
'''),
    Alternative("softplus", "the rule exp(x - softplus(x)) = exp(-softplus(-x))", '''\
@jax.custom_jvp
def softplus(x):
    """log(1 + exp(x)), stable."""
    return jnp.maximum(x, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(x)))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    y = softplus(x)
    return y, jnp.exp(x - y) * x_dot
'''),
    Alternative("softplus", "a where between two stable forms (the rule keeps it nan-free)", '''\
@jax.custom_jvp
def softplus(x):
    """log(1 + exp(x)), stable."""
    return jnp.where(x > 0, x + jnp.log1p(jnp.exp(-x)), jnp.log1p(jnp.exp(x)))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return softplus(x), jax.nn.sigmoid(x) * x_dot
'''),
]

# ------------------------------------------------------------------------ clip_gradient

_CLIP = [
    Mutant("clip_gradient", "the backward pass does not clip",
           _p("clip_gradient", ("return jnp.clip(g, lo, hi), None, None",
                                "return g, None, None")),
           r"returns the cotangent unchanged"),
    Mutant("clip_gradient", "the forward pass clips x",
           _p("clip_gradient", ("    return x\n    ### END SOLUTION",
                                "    return jnp.clip(x, lo, hi)\n    ### END SOLUTION"),
              ("return x, (lo, hi)", "return jnp.clip(x, lo, hi), (lo, hi)")),
           r"forward pass clipped x"),
    Mutant("clip_gradient", "the saved input x clipped instead of the cotangent",
           _p("clip_gradient", ("return x, (lo, hi)", "return x, (x, lo, hi)"),
              ("lo, hi = residuals", "x, lo, hi = residuals"),
              ("jnp.clip(g, lo, hi)", "jnp.clip(x, lo, hi)")),
           r"clipped the saved input x"),
    Mutant("clip_gradient", "lo and hi swapped",
           _p("clip_gradient", ("jnp.clip(g, lo, hi)", "jnp.clip(g, hi, lo)")),
           r"swapped"),
    Mutant("clip_gradient", "the norm clipped instead of each entry",
           _p("clip_gradient", ("jnp.clip(g, lo, hi)",
                                "g * jnp.minimum(1.0, hi / jnp.linalg.norm(g))")),
           r"norm was clipped"),
    Mutant("clip_gradient", "jnp.clip on x, no custom_vjp",
           _p("clip_gradient", ("@jax.custom_vjp\n", ""),
              ("    return x\n", "    return jnp.clip(x, lo, hi)\n"),
              ("clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)", "")),
           r"not a jax.custom_vjp"),
]

_CLIP_ALT = [
    Alternative("clip_gradient", "lo and hi as nondiff_argnums", '''\
from functools import partial


@partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def clip_gradient(x, lo, hi):
    """Identity forward, clipped cotangent backward."""
    return x


def _fwd(x, lo, hi):
    return x, None


def _bwd(lo, hi, residuals, g):
    return (jnp.minimum(jnp.maximum(g, lo), hi),)


clip_gradient.defvjp(_fwd, _bwd)
'''),
    Alternative("clip_gradient", "zero cotangents for lo and hi, rule defined inline", '''\
@jax.custom_vjp
def clip_gradient(x, lo, hi):
    """Identity forward, clipped cotangent backward."""
    return 1.0 * x


clip_gradient.defvjp(
    lambda x, lo, hi: (x, (lo, hi)),
    lambda res, g: (jnp.where(g < res[0], res[0], jnp.where(g > res[1], res[1], g)),
                    jnp.zeros_like(res[0]), jnp.zeros_like(res[1])),
)
'''),
]

# ------------------------------------------------------------------ straight_through_round

_STE = [
    Mutant("straight_through_round", "the backward pass returns 0 (round's own derivative)",
           _p("straight_through_round", ("return (g,)", "return (jnp.zeros_like(g),)")),
           r"jnp\.round's own derivative"),
    Mutant("straight_through_round", "halves rounded up: floor(x + 0.5)",
           _p("straight_through_round",
              ("    return jnp.round(x)\n", "    return jnp.floor(x + 0.5)\n"),
              ("return jnp.round(x), None", "return jnp.floor(x + 0.5), None")),
           r"halves were rounded up"),
    Mutant("straight_through_round", "the backward pass rounds the cotangent",
           _p("straight_through_round", ("return (g,)", "return (jnp.round(g),)")),
           r"rounded the cotangent"),
    Mutant("straight_through_round", "the stop_gradient trick instead of a custom_vjp", '''\
def straight_through_round(x):
    """Round forward, identity backward."""
    return x + jax.lax.stop_gradient(jnp.round(x) - x)
''', r"not a jax\.custom_vjp"),
    Mutant("straight_through_round", "the backward pass returns the input x",
           _p("straight_through_round", ("return jnp.round(x), None", "return jnp.round(x), x"),
              ("    return (g,)", "    return (residuals,)")),
           r"returned the input x"),
    Mutant("straight_through_round", "the forward pass does not round",
           _p("straight_through_round",
              ("    return jnp.round(x)\n    ### END", "    return x\n    ### END"),
              ("return jnp.round(x), None", "return x, None")),
           r"must round"),
]

_STE_ALT = [
    Alternative("straight_through_round", "jnp.rint (also halves to even), x kept as residual", '''\
@jax.custom_vjp
def straight_through_round(x):
    """Round forward, identity backward."""
    return jnp.rint(x)


def _fwd(x):
    return jnp.rint(x), x


def _bwd(x, g):
    return (g * jnp.ones_like(x),)


straight_through_round.defvjp(_fwd, _bwd)
'''),
]

# ---------------------------------------------------------------------- checkpointed_chain

_CHAIN_CALL = "x = jax.checkpoint(block)(params_list[start:start + segment], x)"

_CHAIN = [
    Mutant("checkpointed_chain", "no checkpoint at all",
           _p("checkpointed_chain", (_CHAIN_CALL,
                                     "x = block(params_list[start:start + segment], x)")),
           r"nothing is checkpointed"),
    Mutant("checkpointed_chain", "one checkpoint per layer, segment ignored", '''\
def checkpointed_chain(layer, params_list, x, segment):
    """Apply the layers, each checkpointed."""
    for p in params_list:
        x = jax.checkpoint(layer)(p, x)
    return x
''', r"each layer is checkpointed on its own"),
    Mutant("checkpointed_chain", "one checkpoint around the whole chain",
           _p("checkpointed_chain", (_CHAIN_CALL, "return jax.checkpoint(block)(params_list, x)")),
           r"the whole chain is one checkpoint"),
    Mutant("checkpointed_chain", "blocks overlap by one layer (a layer applied twice)",
           _p("checkpointed_chain", ("params_list[start:start + segment]",
                                     "params_list[start:start + segment + 1]")),
           r"apply every layer exactly once"),
    Mutant("checkpointed_chain", "the last layer dropped (range stops one short)",
           _p("checkpointed_chain", ("range(0, len(params_list), segment)",
                                     "range(0, len(params_list) - 1, segment)"),
              ("params_list[start:start + segment]",
               "params_list[start:min(start + segment, len(params_list) - 1)]")),
           r"apply every layer exactly once"),
]

_CHAIN_ALT = [
    Alternative("checkpointed_chain", "short block first, parameters closed over", '''\
def checkpointed_chain(layer, params_list, x, segment):
    """Apply the layers in checkpointed blocks of `segment`."""
    n = len(params_list)
    first = n % segment or segment
    bounds = [0, *range(first, n + 1, segment)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        chunk = params_list[a:b]

        def run(x, chunk=chunk):
            for p in chunk:
                x = layer(p, x)
            return x

        x = jax.checkpoint(run)(x)
    return x
'''),
    Alternative("checkpointed_chain", "jax.remat on a block function made per block", '''\
def checkpointed_chain(layer, params_list, x, segment):
    """Apply the layers in checkpointed blocks of `segment`."""
    def make_block(size):
        def block(ps, x):
            for i in range(size):
                x = layer(ps[i], x)
            return x
        return jax.remat(block)

    i = 0
    while i < len(params_list):
        chunk = tuple(params_list[i:i + segment])
        x = make_block(len(chunk))(chunk, x)
        i += segment
    return x
'''),
]

# ------------------------------------------------------------------------ fixed_point_grad

_FP_SOLVE = "jnp.eye(len(x_star)) - dg_dx, dg_dtheta"

_FIXED = [
    Mutant("fixed_point_grad", "sign: (I + dg/dx)",
           _p("fixed_point_grad", (_FP_SOLVE, "jnp.eye(len(x_star)) + dg_dx, dg_dtheta")),
           r"not \(I \+ dg/dx\)"),
    Mutant("fixed_point_grad", "dg/dtheta alone (x* treated as constant)",
           _p("fixed_point_grad", ("return np.asarray(jnp.linalg.solve(" + _FP_SOLVE + "))",
                                   "return np.asarray(dg_dtheta)")),
           r"dg/dtheta alone"),
    Mutant("fixed_point_grad", "dg/dx transposed",
           _p("fixed_point_grad", (_FP_SOLVE, "jnp.eye(len(x_star)) - dg_dx.T, dg_dtheta")),
           r"transposed"),
    Mutant("fixed_point_grad", "multiplied by (I - dg/dx) instead of solving",
           _p("fixed_point_grad", ("jnp.linalg.solve(" + _FP_SOLVE + ")",
                                   "(jnp.eye(len(x_star)) - dg_dx) @ dg_dtheta")),
           r"instead of solving"),
    Mutant("fixed_point_grad", "unrolled Python loop differentiated with jacfwd", '''\
def fixed_point_grad(g, x_star, theta):
    """dx*/dtheta by unrolling."""
    def solve(theta):
        x = jnp.asarray(x_star)
        for _ in range(100):
            x = g(x, theta)
        return x
    return np.asarray(jax.jacfwd(solve)(theta))
''', r"called g \d+ times"),
    Mutant("fixed_point_grad", "unrolled lax.fori_loop differentiated with jacfwd", '''\
def fixed_point_grad(g, x_star, theta):
    """dx*/dtheta by unrolling."""
    def solve(theta):
        return jax.lax.fori_loop(0, 1000, lambda i, x: g(x, theta), jnp.asarray(x_star))
    return np.asarray(jax.jacfwd(solve)(theta))
''', r"converges very slowly or not at all"),
    Mutant("fixed_point_grad", "overall sign: (dg/dx - I)",
           _p("fixed_point_grad", (_FP_SOLVE, "dg_dx - jnp.eye(len(x_star)), dg_dtheta")),
           r"overall sign"),
]

_FIXED_ALT = [
    Alternative("fixed_point_grad", "jacfwd for both, numpy solve", '''\
def fixed_point_grad(g, x_star, theta):
    """dx*/dtheta by the implicit function theorem."""
    A, B = jax.jacfwd(g, argnums=(0, 1))(x_star, theta)
    return np.linalg.solve(np.eye(x_star.shape[0]) - np.asarray(A), np.asarray(B))
'''),
    Alternative("fixed_point_grad", "rows by vjp, then the solve", '''\
def fixed_point_grad(g, x_star, theta):
    """dx*/dtheta by the implicit function theorem, Jacobians row by row."""
    _, pullback = jax.vjp(g, x_star, theta)
    rows = jax.vmap(pullback)(jnp.eye(len(x_star)))
    A, B = np.asarray(rows[0]), np.asarray(rows[1])
    return np.linalg.solve(np.eye(len(x_star)) - A, B)
'''),
    Alternative("fixed_point_grad", "F(x, theta) = x - g(x, theta) differentiated", '''\
def fixed_point_grad(g, x_star, theta):
    """dx*/dtheta from F(x*, theta) = 0 with F = x - g(x, theta)."""
    def F(x, theta):
        return x - g(x, theta)
    Fx = jax.jacrev(F, argnums=0)(x_star, theta)
    Ft = jax.jacrev(F, argnums=1)(x_star, theta)
    return -np.linalg.solve(np.asarray(Fx), np.asarray(Ft))
'''),
]

# ------------------------------------------------------------------------ ridge_hypergrad

_RIDGE = [
    Mutant("ridge_hypergrad", "sign of dw*/dlam flipped",
           _p("ridge_hypergrad", ("dw_dlam = -np.linalg.solve(A, w)",
                                  "dw_dlam = np.linalg.solve(A, w)")),
           r"sign is flipped"),
    Mutant("ridge_hypergrad", "sum of squares instead of the mean",
           _p("ridge_hypergrad", (" / len(y_val)", "")),
           r"is a mean"),
    Mutant("ridge_hypergrad", "factor 2 of the squared error missing",
           _p("ridge_hypergrad", ("grad_w = 2.0 * X_val.T", "grad_w = X_val.T")),
           r"factor 2 is missing"),
    Mutant("ridge_hypergrad", "validation loss on the training data",
           _p("ridge_hypergrad", ("X_val.T @ (X_val @ w - y_val) / len(y_val)",
                                  "X.T @ (X @ w - y) / len(y)")),
           r"on the training data"),
    Mutant("ridge_hypergrad", "the mean training loss in the ridge objective",
           _p("ridge_hypergrad", ("A = X.T @ X + lam * np.eye(X.shape[1])",
                                  "A = X.T @ X / len(y) + lam * np.eye(X.shape[1])"),
              ("w = np.linalg.solve(A, X.T @ y)", "w = np.linalg.solve(A, X.T @ y / len(y))")),
           r"a sum, not a mean"),
    Mutant("ridge_hypergrad", "the derivative with respect to log(lam)",
           _p("ridge_hypergrad", ("return float(grad_w @ dw_dlam)",
                                  "return float(lam * grad_w @ dw_dlam)")),
           r"log\(lam\)"),
    Mutant("ridge_hypergrad", "gradient descent unrolled 500 steps, differentiated", '''\
def ridge_hypergrad(X, y, lam, X_val, y_val):
    """Hyper-gradient by unrolling gradient descent."""
    def loss(lam):
        A = X.T @ X + lam * jnp.eye(X.shape[1])
        lr = 1.0 / jnp.linalg.norm(A, 2)
        w = jax.lax.fori_loop(0, 500, lambda i, w: w - lr * (A @ w - X.T @ y),
                              jnp.zeros(X.shape[1]))
        return jnp.mean((X_val @ w - y_val) ** 2)
    return float(jax.grad(loss)(lam))
''', r"unrolled for any practical"),
    Mutant("ridge_hypergrad", "the penalty taken as lam/2 norm(w)**2",
           _p("ridge_hypergrad", ("A = X.T @ X + lam * np.eye(X.shape[1])",
                                  "A = X.T @ X + 0.5 * lam * np.eye(X.shape[1])"),
              ("dw_dlam = -np.linalg.solve(A, w)", "dw_dlam = -0.5 * np.linalg.solve(A, w)")),
           r"no factor 1/2"),
]

_RIDGE_ALT = [
    Alternative("ridge_hypergrad", "the adjoint form: one solve for the validation gradient", '''\
def ridge_hypergrad(X, y, lam, X_val, y_val):
    """dL/dlam = -(A^-1 grad_w L) . w*, A symmetric."""
    A = X.T @ X + lam * np.eye(X.shape[1])
    w = np.linalg.solve(A, X.T @ y)
    residual = X_val @ w - y_val
    v = np.linalg.solve(A, 2 * X_val.T @ residual / residual.size)
    return -float(v @ w)
'''),
    Alternative("ridge_hypergrad", "the SVD of X: w* and dw*/dlam in closed form", '''\
def ridge_hypergrad(X, y, lam, X_val, y_val):
    """Through the SVD X = U S V^T: w = V S/(S^2+lam) U^T y, dw = -V S/(S^2+lam)^2 U^T y."""
    U, S, Vt = np.linalg.svd(X, full_matrices=False)
    Uy = U.T @ y
    w = Vt.T @ (S / (S**2 + lam) * Uy)
    dw = -Vt.T @ (S / (S**2 + lam) ** 2 * Uy)
    return float(np.mean(2 * (X_val @ w - y_val) * (X_val @ dw)))
'''),
    Alternative("ridge_hypergrad", "jax.grad through a direct solve (JAX's implicit rule)", '''\
def ridge_hypergrad(X, y, lam, X_val, y_val):
    """jnp.linalg.solve's derivative is itself the implicit one."""
    def val_loss(lam):
        w = jnp.linalg.solve(X.T @ X + lam * jnp.eye(X.shape[1]), X.T @ y)
        return jnp.mean((X_val @ w - y_val) ** 2)
    return float(jax.grad(val_loss)(lam))
'''),
]

MUTANTS = [*_SAFE_NORM, *_SOFTPLUS, *_CLIP, *_STE, *_CHAIN, *_FIXED, *_RIDGE]
ALTERNATIVES = [*_SAFE_NORM_ALT, *_SOFTPLUS_ALT, *_CLIP_ALT, *_STE_ALT, *_CHAIN_ALT,
                *_FIXED_ALT, *_RIDGE_ALT]
