"""Generated mutants that compute the same function as the solution, and why.

Keyed by ``(lesson, exercise, mutant id)`` as ``autograder mutants`` reports them. Each
reason says why no input the curriculum contract allows (float64 arrays or Python
floats, the signatures and conventions of each exercise) can tell the
mutant from the solution: ``x**2`` versus ``x*x``, a constant nudged in a branch no input
reaches, a deleted statement whose effect is overwritten. A mutant that a check *could*
catch but does not is a gap in the checks, not an equivalent: it stays in the report's
survivors.
"""

from __future__ import annotations

_AS_FLOAT = ("`np.asarray(..., dtype=float)` is the identity on the float64 arrays the "
             "contract passes, and every later operation works on them unchanged")
_OVERWRITTEN = ("every entry of the array is assigned in the loop before it is returned, so "
                "the sign of its initial zeros never shows")

EQUIVALENT: dict[tuple[str, str, str], str] = {
    # ---------------------------------------------------------------- 01-derivatives
    ("01-derivatives", "mse", "delete@L7:4 Assign"): _AS_FLOAT,
    ("01-derivatives", "mse", "delete@L8:4 Assign"): _AS_FLOAT,
    ("01-derivatives", "sigmoid_prime", "delete@L8:4 Assign"):
        f"{_AS_FLOAT}; for a float z, np.tanh returns the same value as for a 0-d array",
    ("01-derivatives", "sigmoid_prime", "negate@L8:8 -"):
        "sigmoid' is even: with -z the two factors s and s_neg trade places exactly (np.tanh "
        "is odd bit for bit), and their product is the same",
    ("01-derivatives", "relu_prime", "swapargs@L7:11 np.where"):
        "np.where(1.0, z > 0, 0.0): the scalar condition 1.0 is true everywhere, so the "
        "result is z > 0 broadcast and promoted with 0.0 to float64, the same 1.0/0.0 array",
    # ------------------------------------------------------------------- 02-numeric
    ("02-numeric", "numeric_gradient", "delete@L8:4 Assign"):
        f"{_AS_FLOAT} (x is copied before each perturbation, so it is never modified)",
    ("02-numeric", "numeric_gradient", "negate@L9:11 -"): _OVERWRITTEN,
    ("02-numeric", "numeric_jacobian", "delete@L8:4 Assign"): _AS_FLOAT,
    ("02-numeric", "numeric_jacobian", "negate@L11:15 -"):
        "the step is -0.0 instead of 0.0 off its one entry h: x + step and x - step differ "
        "from the solution's only in the sign of zero entries, the same real points",
    ("02-numeric", "relative_error", "delete@L8:4 Assign"): _AS_FLOAT,
    ("02-numeric", "relative_error", "delete@L9:4 Assign"): _AS_FLOAT,
    ("02-numeric", "relative_error", "swapargs@L10:40 np.maximum"):
        "np.maximum is symmetric in its arguments (NaN propagates from either side)",
    # ------------------------------------------------------------------ 03-symbolic
    ("03-symbolic", "diff", "negate@L11:19 -"):
        "-Const(0) is Mul(Const(-1), Const(0)), zero everywhere; diff is checked by value",
    ("03-symbolic", "diff", "delete@L28:4 Raise"):
        "unreachable: every node type of the contract (Const, Var, Add, Mul, Pow, Sin, Cos, "
        "Exp, Log) returns from its own case before the final raise",
    ("03-symbolic", "simplify", "swapargs@L19:19 Add"):
        "Add(v, u) has the value and the size of Add(u, v), the only two things the "
        "contract fixes",
    ("03-symbolic", "simplify", "swapargs@L31:19 Mul"):
        "Mul(v, u) has the value and the size of Mul(u, v), the only two things the "
        "contract fixes",
    # -------------------------------------------------------------- 04-forward-mode
    ("04-forward-mode", "forward_gradient", "delete@L4:4 Assign"):
        "len(x), enumerate(x) and float(v) give the same on a float64 array with or "
        "without the conversion (on a list too)",
    ("04-forward-mode", "forward_gradient", "negate@L5:11 -"): _OVERWRITTEN,
    # -------------------------------------------------------------- 05-reverse-mode
    ("05-reverse-mode", "var_functions", "swapargs@L44:15 max"):
        "max(0.0, v) and max(v, 0.0) are equal for every float v (they differ only in "
        "which zero is returned when v is -0.0, and -0.0 == 0.0)",
    ("05-reverse-mode", "backward", "delete@L14:12 Continue"):
        "without this continue an expanded node falls through to `if id(node) in visited: "
        "continue`, which always holds (a node is marked visited before it is pushed back "
        "expanded), so control takes the same continue",
    # ---------------------------------------------------------- 06-gradient-descent
    ("06-gradient-descent", "normal_nll", "negate@L5:8 -"):
        "z is only used squared, and (-z)**2 == z**2 exactly",
    # ---------------------------------------------------------------- 07-stochastic
    ("07-stochastic", "sgd", "delete@L5:4 Assign"):
        "with float64 array params the copy changes nothing: `params - lr * grad` builds a "
        "new array at every step, so the values returned are the same and the caller's "
        "array is never written",
    ("07-stochastic", "triangular_lr", "swapargs@L7:52 max"):
        "max(1 - x, 0.0) and max(0.0, 1 - x) are equal for every float x",
    # --------------------------------------------------------------- 08-optimizers
    ("08-optimizers", "nesterov_step", "delete@L9:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "nesterov_step", "delete@L10:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "adagrad_step", "delete@L9:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "adadelta_step", "delete@L11:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "adadelta_step", "delete@L12:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "rmsprop_step", "delete@L9:4 Assign"): _AS_FLOAT,
    ("08-optimizers", "adam_step", "delete@L11:4 Assign"): _AS_FLOAT,
    # ----------------------------------------------------------- 09-neural-network
    ("09-neural-network", "mlp_forward", "const@L11:36 0 -> -1"):
        "the output layer has one unit (W2 has shape (h, 1)), so column -1 is column 0",
    ("09-neural-network", "train_xor", "negate@L11:49 -"):
        "b1 starts at -0.0 instead of 0.0: adding it changes no pre-activation (t + -0.0 "
        "== t), and the first Adam step gives b1 the same value either way",
    ("09-neural-network", "train_xor", "negate@L12:49 -"):
        "b2 starts at -0.0 instead of 0.0: adding it changes no output (t + -0.0 == t), "
        "and the first Adam step gives b2 the same value either way",
    # ------------------------------------------------------------- 10-second-order
    ("10-second-order", "jacobian_by_columns", "delete@L8:4 Assign"):
        "x arrives as a float64 numpy array, which jax.jvp, jnp.zeros_like and .shape take "
        "exactly as they take its jnp.asarray copy: the tangents and columns are the same",
    ("10-second-order", "jacobian_by_columns", "const@L10:27 0 -> -1"):
        "x is a vector (shape (n,)), so x.shape[-1] is x.shape[0]",
    ("10-second-order", "jacobian_by_rows", "delete@L8:4 Assign"):
        "x arrives as a float64 numpy array, which jax.vjp takes exactly as its jnp.asarray "
        "copy: the same linearisation and pullback",
    ("10-second-order", "jacobian_by_rows", "const@L11:27 0 -> -1"):
        "f returns a vector (shape (m,)), so y.shape[-1] is y.shape[0]",
    ("10-second-order", "top_eigenvalue", "negate@L9:8 -"):
        "the start -z gives the iterates -v_k (negation is exact), and the Rayleigh quotient "
        "(-v).A(-v) is v.Av bit for bit",
    ("10-second-order", "top_eigenvalue", "negate@L10:8 -"):
        "normalising to -z/|z| negates every later iterate exactly; the Rayleigh quotient is "
        "even in v",
    ("10-second-order", "top_eigenvalue", "negate@L12:12 -"):
        "w = -Av only flips the sign of the next unit iterate (exactly); the final quotient "
        "v.Av is even in v",
    ("10-second-order", "top_eigenvalue", "negate@L13:12 -"):
        "v = -w/|w| flips the iterate's sign exactly; A(-v) = -(Av), so the next step and the "
        "final quotient v.Av are unchanged",
    ("10-second-order", "backtracking", "swapargs@L10:18 np.dot"):
        "np.dot(d, g) and np.dot(g, d) are the same sum of the same products of vectors",
    ("10-second-order", "conjugate_gradient", "delete@L8:4 Assign"):
        "b arrives as a float64 numpy array: np.asarray(b, dtype=float) is b itself, and b is "
        "only read (r = b.copy())",
    ("10-second-order", "conjugate_gradient", "const@L9:23 0 -> -1"):
        "b is a vector (shape (n,)), so b.shape[-1] is b.shape[0]",
    ("10-second-order", "conjugate_gradient", "negate@L10:8 -"):
        "x starts at -0.0 instead of 0.0: -0.0 + alpha p is alpha p exactly, and an untouched "
        "-0.0 entry equals 0.0",
    ("10-second-order", "newton_cg_step", "delete@L6:4 Assign"):
        "x arrives as a float64 numpy array: np.asarray(x, dtype=float) is x itself, and it is "
        "only read (x + alpha d is a new array)",
    # ------------------------------------------------------------- 11-custom-rules
    ("11-custom-rules", "safe_norm", "const@L10:61 1.0 -> 1.5"):
        "the inner where only feeds the square root a stand-in where s == 0, whose value the "
        "outer where discards; any positive stand-in (1.0 or 1.5) keeps the square root's "
        "derivative finite there, so value and gradient are the same",
    ("11-custom-rules", "softplus", "swapargs@L9:11 jnp.maximum"):
        "jnp.maximum is symmetric, and the derivative comes from the custom rule, not from "
        "differentiating maximum",
    ("11-custom-rules", "clip_gradient", "swapargs@L23:11 jnp.clip"):
        "jnp.clip(lo, g, hi) is minimum(maximum(lo, g), hi), the same as jnp.clip(g, lo, hi) "
        "= minimum(maximum(g, lo), hi) (maximum is symmetric), broadcast to g's shape",
}
