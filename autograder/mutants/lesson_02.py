"""Mutants and alternative answers for lesson 02-numeric."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "02-numeric"

_p = patcher(LESSON)


_FORWARD = "return float((f(x + h) - f(x)) / h)"
_CENTRAL = "return float((f(x + h) - f(x - h)) / (2 * h))"
_COMPLEX = "return float(np.imag(f(x + 1j * h)) / h)"
_GRADIENT_STEP = "grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)"
_JACOBIAN_COLUMN = (
    "columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * h))")
_RELATIVE = (
    "return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))")

MUTANTS = [
    # ---------------------------------------------------- forward_difference
    Mutant("forward_difference", "central difference where the forward one was asked for",
           _p("forward_difference", (_FORWARD, "return float((f(x + h) - f(x - h)) / (2 * h))")),
           r"you computed the central difference.*asks for the forward difference"),
    Mutant("forward_difference", "backward difference (f(x) - f(x - h)) / h",
           _p("forward_difference", (_FORWARD, "return float((f(x) - f(x - h)) / h)")),
           r"you computed the backward difference"),
    Mutant("forward_difference", "2h instead of h in the denominator",
           _p("forward_difference", (_FORWARD, "return float((f(x + h) - f(x)) / (2 * h))")),
           r"you divided by 2h: the forward difference divides by h"),
    Mutant("forward_difference", "central numerator over h instead of 2h",
           _p("forward_difference", (_FORWARD, "return float((f(x + h) - f(x - h)) / h)")),
           r"central difference over h instead of 2h"),
    Mutant("forward_difference", "sign flip: f(x) - f(x + h)",
           _p("forward_difference", (_FORWARD, "return float((f(x) - f(x + h)) / h)")),
           r"the sign is flipped"),
    Mutant("forward_difference", "forgot to divide by h",
           _p("forward_difference", (_FORWARD, "return float(f(x + h) - f(x))")),
           r"you forgot to divide by the step h"),
    Mutant("forward_difference", "ignores the argument h (hard-coded step)",
           _p("forward_difference", (_FORWARD, "return float((f(x + 1e-7) - f(x)) / 1e-7)")),
           r"true derivative, not the difference quotient for the step h"),
    Mutant("forward_difference", "wrong default step h = 1e-4",
           _p("forward_difference", ("h=1e-7", "h=1e-4")),
           r"check that the default value of h is 1e-07"),
    Mutant("forward_difference", "returns a one-element array instead of a number",
           _p("forward_difference", (_FORWARD, "return np.array([(f(x + h) - f(x)) / h])")),
           r"shape"),
    Mutant("forward_difference", "renamed the step argument h to eps",
           _p("forward_difference", ("h=1e-7", "eps=1e-7"),
              (_FORWARD, "return float((f(x + eps) - f(x)) / eps)")),
           r"unexpected keyword argument 'h'"),
    # ---------------------------------------------------- central_difference
    Mutant("central_difference", "h instead of 2h in the denominator",
           _p("central_difference", (_CENTRAL, "return float((f(x + h) - f(x - h)) / h)")),
           r"you divided by h instead of 2h"),
    Mutant("central_difference", "forward difference where the central one was asked for",
           _p("central_difference", (_CENTRAL, "return float((f(x + h) - f(x)) / h)")),
           r"you computed the forward difference.*asks for the central difference"),
    Mutant("central_difference", "backward difference where the central one was asked for",
           _p("central_difference", (_CENTRAL, "return float((f(x) - f(x - h)) / h)")),
           r"you computed the backward difference"),
    Mutant("central_difference", "sign flip: f(x - h) - f(x + h)",
           _p("central_difference", (_CENTRAL, "return float((f(x - h) - f(x + h)) / (2 * h))")),
           r"the sign is flipped"),
    Mutant("central_difference", "/ 2 * h (operator precedence: multiplies by h)",
           _p("central_difference", (_CENTRAL, "return float((f(x + h) - f(x - h)) / 2 * h)")),
           r"you wrote `/ 2 \* h`"),
    Mutant("central_difference", "ignores the argument h (hard-coded step)",
           _p("central_difference",
              (_CENTRAL, "return float((f(x + 1e-5) - f(x - 1e-5)) / 2e-5)")),
           r"true derivative, not the difference quotient for the step h"),
    Mutant("central_difference", "wrong default step h = 1e-2",
           _p("central_difference", ("h=1e-5", "h=1e-2")),
           r"check that the default value of h is 1e-05"),
    # ---------------------------------------------------------- complex_step
    Mutant("complex_step", "real part instead of imaginary part",
           _p("complex_step", (_COMPLEX, "return float(np.real(f(x + 1j * h)) / h)")),
           r"you took the real part"),
    Mutant("complex_step", "forgot to divide by h",
           _p("complex_step", (_COMPLEX, "return float(np.imag(f(x + 1j * h)))")),
           r"forgot to divide the imaginary part by h"),
    Mutant("complex_step", "modulus instead of imaginary part",
           _p("complex_step", (_COMPLEX, "return float(np.abs(f(x + 1j * h)) / h)")),
           r"you took the modulus"),
    Mutant("complex_step", "sign flip: evaluated at x - ih",
           _p("complex_step", (_COMPLEX, "return float(np.imag(f(x - 1j * h)) / h)")),
           r"the sign is flipped: evaluate at x \+ ih"),
    Mutant("complex_step", "real step x + h (no imaginary part)",
           _p("complex_step", (_COMPLEX, "return float(np.imag(f(x + h)) / h)")),
           r"you added a real step"),
    Mutant("complex_step", "returned the complex quotient without taking .imag",
           _p("complex_step", (_COMPLEX, "return f(x + 1j * h) / h")),
           r"returned a complex value"),
    Mutant("complex_step", "real forward difference instead of the complex step",
           _p("complex_step", (_COMPLEX, "return float((f(x + h) - f(x)) / h)")),
           r"you computed a real difference quotient"),
    Mutant("complex_step", "wrong default step h = 1e-4",
           _p("complex_step", ("h=1e-20", "h=1e-4")),
           r"Check the default\s+h = 1e-20"),
    Mutant("complex_step", "ignores the argument h (hard-coded step)",
           _p("complex_step", (_COMPLEX, "return float(np.imag(f(x + 1e-20j)) / 1e-20)")),
           r"true derivative, not the difference quotient for the step h"),
    # ------------------------------------------------------ numeric_gradient
    Mutant("numeric_gradient", "perturbs x in place (x[i] += h, then restores)",
           _p("numeric_gradient",
              ("x_plus, x_minus = x.copy(), x.copy()\n"
               "        x_plus[i] += h\n"
               "        x_minus[i] -= h\n"
               "        grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)",
               "x[i] += h\n"
               "        f_plus = f(x)\n"
               "        x[i] -= 2 * h\n"
               "        f_minus = f(x)\n"
               "        x[i] += h\n"
               "        grad[i] = (f_plus - f_minus) / (2 * h)")),
           r"modified its argument x in place \(x\[i\] \+= h\)"),
    Mutant("numeric_gradient", "forward differences instead of central",
           _p("numeric_gradient", (_GRADIENT_STEP, "grad[i] = (f(x_plus) - f(x)) / h")),
           r"you used forward differences"),
    Mutant("numeric_gradient", "h instead of 2h in the denominator",
           _p("numeric_gradient", (_GRADIENT_STEP, "grad[i] = (f(x_plus) - f(x_minus)) / h")),
           r"you divided by h instead of 2h"),
    Mutant("numeric_gradient", "/ 2 * h (operator precedence: multiplies by h)",
           _p("numeric_gradient", (_GRADIENT_STEP, "grad[i] = (f(x_plus) - f(x_minus)) / 2 * h")),
           r"you wrote `/ 2 \* h`"),
    Mutant("numeric_gradient", "sign flip: f(x - h e_i) - f(x + h e_i)",
           _p("numeric_gradient",
              (_GRADIENT_STEP, "grad[i] = (f(x_minus) - f(x_plus)) / (2 * h)")),
           r"the sign is flipped"),
    Mutant("numeric_gradient", "loops over range(len(x)): perturbs whole rows of a 2-D x",
           _p("numeric_gradient", ("for i in np.ndindex(x.shape):", "for i in range(len(x)):")),
           r"perturbed a whole row of the 2-D x"),
    Mutant("numeric_gradient", "returns a flattened gradient instead of the shape of x",
           _p("numeric_gradient", ("return grad", "return grad.ravel()")),
           r"numeric_gradient returns an array of the same shape as x"),
    Mutant("numeric_gradient", "ignores the argument h (hard-coded step)",
           _p("numeric_gradient",
              ("x_plus[i] += h\n        x_minus[i] -= h\n"
               "        grad[i] = (f(x_plus) - f(x_minus)) / (2 * h)",
               "x_plus[i] += 1e-5\n        x_minus[i] -= 1e-5\n"
               "        grad[i] = (f(x_plus) - f(x_minus)) / 2e-5")),
           r"true derivative, not the difference quotient for the step h"),
    # ------------------------------------------------------ numeric_jacobian
    Mutant("numeric_jacobian", "transposed: columns stacked as rows",
           _p("numeric_jacobian", ("np.stack(columns, axis=1)", "np.stack(columns, axis=0)")),
           r"transposed"),
    Mutant("numeric_jacobian", "forward differences instead of central",
           _p("numeric_jacobian",
              (_JACOBIAN_COLUMN,
               "columns.append((np.asarray(f(x + step)) - np.asarray(f(x))) / h)")),
           r"you used forward differences"),
    Mutant("numeric_jacobian", "h instead of 2h in the denominator",
           _p("numeric_jacobian",
              (_JACOBIAN_COLUMN,
               "columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / h)")),
           r"you divided by h instead of 2h"),
    Mutant("numeric_jacobian", "sign flip",
           _p("numeric_jacobian",
              (_JACOBIAN_COLUMN,
               "columns.append((np.asarray(f(x - step)) - np.asarray(f(x + step))) / (2 * h))")),
           r"the sign is flipped"),
    Mutant("numeric_jacobian", "perturbs x in place (x[j] += h, then restores)",
           _p("numeric_jacobian",
              ("step = np.zeros_like(x)\n"
               "        step[j] = h\n"
               "        columns.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) "
               "/ (2 * h))",
               "x[j] += h\n"
               "        f_plus = np.array(f(x))\n"
               "        x[j] -= 2 * h\n"
               "        f_minus = np.array(f(x))\n"
               "        x[j] += h\n"
               "        columns.append((f_plus - f_minus) / (2 * h))")),
           r"modified its argument x in place"),
    Mutant("numeric_jacobian", "returns the entries flattened instead of shape (m, n)",
           _p("numeric_jacobian",
              ("return np.stack(columns, axis=1)", "return np.stack(columns, axis=1).ravel()")),
           r"has shape \(\d+,\), expected shape \(\d+, \d+\)"),
    Mutant("numeric_jacobian", "ignores the argument h (hard-coded step)",
           _p("numeric_jacobian", ("step[j] = h", "step[j] = 1e-5"),
              ("/ (2 * h))", "/ 2e-5)")),
           r"true derivative, not the difference quotient for the step h"),
    # -------------------------------------------------------- relative_error
    Mutant("relative_error", "no floor: 0/0 = nan where a and b are both 0",
           _p("relative_error",
              (_RELATIVE, "return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))")),
           r"(?s)returned nan.*0/0 = nan; the floor max\(\|a\| \+ \|b\|, 1e-12\)"),
    Mutant("relative_error", "added 1e-12 to the denominator instead of taking a maximum",
           _p("relative_error",
              (_RELATIVE,
               "return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-12)))")),
           r"you added 1e-12 to the denominator"),
    Mutant("relative_error", "ratio of norms instead of the largest entrywise ratio",
           _p("relative_error",
              (_RELATIVE,
               "return float(np.linalg.norm(a - b)"
               " / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))")),
           r"you divided norms"),
    Mutant("relative_error", "mean of the entrywise ratios instead of the maximum",
           _p("relative_error", (_RELATIVE, _RELATIVE.replace("np.max(", "np.mean(", 1))),
           r"you averaged the entrywise ratios"),
    Mutant("relative_error", "denominator |b| only (asymmetric)",
           _p("relative_error",
              (_RELATIVE, "return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))")),
           r"you divided by \|b\| only"),
    Mutant("relative_error", "forgot to reduce: returns the array of ratios",
           _p("relative_error",
              (_RELATIVE, "return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)")),
           r"return one float, the maximum over the entries"),
    Mutant("relative_error", "Python max instead of np.maximum for the floor",
           _p("relative_error",
              (_RELATIVE,
               "return float(np.max(np.abs(a - b) / max(np.abs(a) + np.abs(b), 1e-12)))")),
           r"Python's `max` compares whole arrays"),
    Mutant("relative_error", "absolute error: forgot to divide",
           _p("relative_error", (_RELATIVE, "return float(np.max(np.abs(a - b)))")),
           r"largest absolute difference max \|a - b\| without\s+dividing"),
    Mutant("relative_error", "subtracts b from a in place to save an array (a -= b)",
           _p("relative_error",
              (_RELATIVE, "a -= b\n    return float(np.max(np.abs(a)"
                          " / np.maximum(np.abs(a + b) + np.abs(b), 1e-12)))")),
           r"modified its argument `a`"),
]

ALTERNATIVES = [
    # ---------------------------------------------------- forward_difference
    Alternative("forward_difference", "divides by the step actually taken, (x + h) - x", '''\
def forward_difference(f, x, h=1e-7):
    """Forward difference (f(x + h) - f(x)) / h, an O(h) approximation of f'(x)."""
    step = (x + h) - x
    return float((f(x + step) - f(x)) / step)
'''),
    Alternative("forward_difference", "named values, numpy scalar returned", '''\
def forward_difference(f, x, h=1e-7):
    """Forward difference (f(x + h) - f(x)) / h, an O(h) approximation of f'(x)."""
    f0 = f(x)
    f1 = f(x + h)
    return (f1 - f0) / h
'''),
    # ---------------------------------------------------- central_difference
    Alternative("central_difference", "mean of the forward and backward quotients", '''\
def central_difference(f, x, h=1e-5):
    """Central difference (f(x + h) - f(x - h)) / (2h), an O(h**2) approximation of f'(x)."""
    return 0.5 * ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h)
'''),
    Alternative("central_difference", "/ 2 / h written out", '''\
def central_difference(f, x, h=1e-5):
    """Central difference (f(x + h) - f(x - h)) / (2h), an O(h**2) approximation of f'(x)."""
    return (f(x + h) - f(x - h)) / 2 / h
'''),
    # ---------------------------------------------------------- complex_step
    Alternative("complex_step", "complex(x, h) and the .imag attribute", '''\
def complex_step(f, x, h=1e-20):
    """Complex-step derivative Im f(x + ih) / h: no cancellation, accurate to round-off."""
    return float(f(complex(x, h)).imag / h)
'''),
    Alternative("complex_step", "np.imag without float()", '''\
def complex_step(f, x, h=1e-20):
    """Complex-step derivative Im f(x + ih) / h: no cancellation, accurate to round-off."""
    z = x + h * 1j
    return np.imag(f(z)) / h
'''),
    # ------------------------------------------------------ numeric_gradient
    Alternative("numeric_gradient", "rows of a scaled identity on the flattened x", '''\
def numeric_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: R^n -> R, same shape as x; x is not modified.

    g[i] = (f(x + h e_i) - f(x - h e_i)) / (2h) for every index i of x.
    """
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    steps = h * np.eye(flat.size)
    g = [(f((flat + e).reshape(x.shape)) - f((flat - e).reshape(x.shape))) / (2 * h)
         for e in steps]
    return np.array(g).reshape(x.shape)
'''),
    Alternative("numeric_gradient", "one copy, perturbed and restored from a saved value", '''\
def numeric_gradient(f, x, h=1e-5):
    """Central-difference gradient of f: R^n -> R, same shape as x; x is not modified.

    g[i] = (f(x + h e_i) - f(x - h e_i)) / (2h) for every index i of x.
    """
    xp = np.array(x, dtype=float)
    grad = np.empty_like(xp)
    it = np.nditer(xp, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        saved = xp[i]
        xp[i] = saved + h
        f_plus = f(xp)
        xp[i] = saved - h
        f_minus = f(xp)
        xp[i] = saved
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
'''),
    # ------------------------------------------------------ numeric_jacobian
    Alternative("numeric_jacobian", "preallocated (m, n) array filled column by column", '''\
def numeric_jacobian(f, x, h=1e-5):
    """Central-difference Jacobian of f: R^n -> R^m, shape (m, n); x is not modified.

    J[:, j] = (f(x + h e_j) - f(x - h e_j)) / (2h).
    """
    x = np.array(x, dtype=float)
    m = np.asarray(f(x)).size
    J = np.empty((m, x.size))
    for j in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus[j] += h
        minus[j] -= h
        J[:, j] = (np.asarray(f(plus)) - np.asarray(f(minus))) / (2 * h)
    return J
'''),
    Alternative("numeric_jacobian", "rows of the identity, stacked then transposed", '''\
def numeric_jacobian(f, x, h=1e-5):
    """Central-difference Jacobian of f: R^n -> R^m, shape (m, n); x is not modified.

    J[:, j] = (f(x + h e_j) - f(x - h e_j)) / (2h).
    """
    x = np.asarray(x, dtype=float)
    rows = [(np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h)
            for e in h * np.eye(x.size)]
    return np.array(rows).T
'''),
    # -------------------------------------------------------- relative_error
    Alternative("relative_error", "loop over the flattened entries", '''\
def relative_error(a, b):
    """max_i |a_i - b_i| / max(|a_i| + |b_i|, 1e-12), as a float."""
    worst = 0.0
    for x, y in zip(np.ravel(a), np.ravel(b)):
        worst = max(worst, abs(x - y) / max(abs(x) + abs(y), 1e-12))
    return worst
'''),
    Alternative("relative_error", "np.fmax floor and ndarray.max", '''\
def relative_error(a, b):
    """max_i |a_i - b_i| / max(|a_i| + |b_i|, 1e-12), as a float."""
    a = np.array(a, dtype=float)
    b = np.array(b, dtype=float)
    denominator = np.fmax(np.abs(a) + np.abs(b), 1e-12)
    return (np.abs(a - b) / denominator).max().item()
'''),
]
