"""Mutants and alternative answers for lesson 01-derivatives."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "01-derivatives"

_p = patcher(LESSON)


_MSE_RETURN = "return float(np.mean((actual - guess) ** 2))"
_GRAD_RETURN = "return (2 * x * y, x**2 + 1)"
_HESSIAN_RETURN = "return np.array([[2.0 * y, 2.0 * x], [2.0 * x, 0.0]])"
_SIGMOID_RETURN = "return s * s_neg"
_RELU_RETURN = "return np.where(np.asarray(z) > 0, 1.0, 0.0)"

MUTANTS = [
    # ------------------------------------------------------------------- mse
    Mutant("mse", "summed the squared errors instead of averaging them (forgot the mean)",
           _p("mse", (_MSE_RETURN, "return float(np.sum((actual - guess) ** 2))")),
           r"summed the squared differences"),
    Mutant("mse", "took the square root (RMSE instead of MSE)",
           _p("mse", (_MSE_RETURN, "return float(np.sqrt(np.mean((actual - guess) ** 2)))")),
           r"RMSE"),
    Mutant("mse", "absolute differences instead of squares (MAE)",
           _p("mse", (_MSE_RETURN, "return float(np.mean(np.abs(actual - guess)))")),
           r"absolute differences \(MAE\)"),
    Mutant("mse", "forgot to square the differences",
           _p("mse", (_MSE_RETURN, "return float(np.mean(actual - guess))")),
           r"averaged the differences without squaring"),
    Mutant("mse", "divided by n - 1 (sample-variance habit)",
           _p("mse", (_MSE_RETURN,
                      "return float(np.sum((actual - guess) ** 2) / (len(actual) - 1))")),
           r"divided by n - 1"),
    Mutant("mse", "the 1/2 convention of the squared loss",
           _p("mse", (_MSE_RETURN, "return float(0.5 * np.mean((actual - guess) ** 2))")),
           r"halved the MSE"),
    Mutant("mse", "modifies the input array in place (actual -= guess)",
           _p("mse", (_MSE_RETURN, "actual -= guess\n    return float(np.mean(actual**2))")),
           r"modified its argument `actual` in place"),
    # ---------------------------------------------------------------- grad_f
    Mutant("grad_f", "partial derivatives returned in the wrong order",
           _p("grad_f", (_GRAD_RETURN, "return (x**2 + 1, 2 * x * y)")),
           r"partial derivatives are swapped"),
    Mutant("grad_f", "missing the derivative of the lone + y term in df/dy",
           _p("grad_f", (_GRAD_RETURN, "return (2 * x * y, x**2)")),
           r"missing the derivative of the lone `\+ y` term"),
    Mutant("grad_f", "power rule without the factor 2 in df/dx",
           _p("grad_f", (_GRAD_RETURN, "return (x * y, x**2 + 1)")),
           r"dropped the factor 2 of the power rule"),
    Mutant("grad_f", "treated y as zero instead of a constant in df/dx",
           _p("grad_f", (_GRAD_RETURN, "return (2 * x, x**2 + 1)")),
           r"forgot the factor y"),
    Mutant("grad_f", "sign flip (returned the descent direction)",
           _p("grad_f", (_GRAD_RETURN, "return (-2 * x * y, -(x**2) - 1)")),
           r"both signs are flipped"),
    Mutant("grad_f", "returned only df/dx, a scalar instead of the pair",
           _p("grad_f", (_GRAD_RETURN, "return 2 * x * y")),
           r"return a pair"),
    # ------------------------------------------------------------- hessian_f
    Mutant("hessian_f", "d2f/dx2 without the factor y",
           _p("hessian_f", (_HESSIAN_RETURN,
                            "return np.array([[2.0, 2.0 * x], [2.0 * x, 0.0]])")),
           r"d2f/dx2 forgot the factor y"),
    Mutant("hessian_f", "d2f/dx2 without the factor 2 of the power rule",
           _p("hessian_f", (_HESSIAN_RETURN,
                            "return np.array([[y, 2.0 * x], [2.0 * x, 0.0]])")),
           r"d2f/dx2 dropped the factor 2"),
    Mutant("hessian_f", "mixed partial derivatives without the factor 2",
           _p("hessian_f", (_HESSIAN_RETURN, "return np.array([[2.0 * y, x], [x, 0.0]])")),
           r"mixed derivatives d2f/dxdy = d2f/dydx are 2x"),
    Mutant("hessian_f", "d2f/dy2 taken as 1 (differentiated + y once too few)",
           _p("hessian_f", (_HESSIAN_RETURN,
                            "return np.array([[2.0 * y, 2.0 * x], [2.0 * x, 1.0]])")),
           r"d2f/dy2 is 0: f is linear in y"),
    # --------------------------------------------------------- sigmoid_prime
    Mutant("sigmoid_prime", "returned sigmoid(z) instead of its derivative",
           _p("sigmoid_prime", (_SIGMOID_RETURN, "return s")),
           r"returned sigmoid\(z\) itself"),
    Mutant("sigmoid_prime", "sign flip",
           _p("sigmoid_prime", (_SIGMOID_RETURN, "return -s * s_neg")),
           r"sign is flipped"),
    Mutant("sigmoid_prime", "s * (1 + s) instead of s * (1 - s)",
           _p("sigmoid_prime", (_SIGMOID_RETURN, "return s * (1 + s)")),
           r"not sigmoid\(z\) \* \(1 \+ sigmoid\(z\)\)"),
    Mutant("sigmoid_prime", "unstable formula exp(-z) / (1 + exp(-z))**2 (overflows)",
           _p("sigmoid_prime", (_SIGMOID_RETURN,
                                "return np.exp(-z) / (1.0 + np.exp(-z)) ** 2")),
           r"overflowed.*Numerically stable"),
    Mutant("sigmoid_prime", "modifies the input array in place (z *= 0.5)",
           _p("sigmoid_prime",
              ("s = 0.5 * (1.0 + np.tanh(0.5 * z))\n    s_neg = 0.5 * (1.0 - np.tanh(0.5 * z))",
               "z *= 0.5\n    s = 0.5 * (1.0 + np.tanh(z))\n"
               "    s_neg = 0.5 * (1.0 - np.tanh(z))")),
           r"modified its argument `z` in place"),
    # ------------------------------------------------------------ relu_prime
    Mutant("relu_prime", "relu'(0) = 1 (z >= 0 instead of z > 0)",
           _p("relu_prime", (_RELU_RETURN, "return np.where(np.asarray(z) >= 0, 1.0, 0.0)")),
           r"relu'\(0\) = 0: use `z > 0`"),
    Mutant("relu_prime", "returned relu(z) instead of its derivative",
           _p("relu_prime", (_RELU_RETURN, "return np.maximum(z, 0.0)")),
           r"returned relu\(z\) itself"),
    Mutant("relu_prime", "derivative reversed (1 for negative z)",
           _p("relu_prime", (_RELU_RETURN, "return np.where(np.asarray(z) < 0, 1.0, 0.0)")),
           r"not the\s+other way round"),
    Mutant("relu_prime", "returned a boolean mask instead of floats",
           _p("relu_prime", (_RELU_RETURN, "return np.asarray(z) > 0")),
           r"dtype bool; return floats"),
    Mutant("relu_prime", "returned an integer array instead of floats",
           _p("relu_prime", (_RELU_RETURN, "return (np.asarray(z) > 0).astype(int)")),
           r"dtype int\d+; return floats"),
    Mutant("relu_prime", "overwrites the input array in place with the mask",
           _p("relu_prime", (_RELU_RETURN,
                             "z[z > 0] = 1.0\n    z[z <= 0] = 0.0\n    return z")),
           r"modified its argument `z` in place"),
]

ALTERNATIVES = [
    # ------------------------------------------------------------------- mse
    Alternative("mse", "explicit loop over pairs", '''\
def mse(actual, guess):
    """Mean squared error (1/n) * sum((actual - guess)**2)."""
    total = 0.0
    for a, g in zip(actual, guess):
        total += (a - g) ** 2
    return total / len(actual)
'''),
    Alternative("mse", "dot product of the difference with itself", '''\
def mse(actual, guess):
    """Mean squared error (1/n) * sum((actual - guess)**2)."""
    d = np.subtract(actual, guess)
    return d @ d / d.size
'''),
    Alternative("mse", "np.square and np.average, numpy scalar returned", '''\
def mse(actual, guess):
    """Mean squared error (1/n) * sum((actual - guess)**2)."""
    return np.average(np.square(np.asarray(guess) - np.asarray(actual)))
'''),
    # ---------------------------------------------------------------- grad_f
    Alternative("grad_f", "a list of floats", '''\
def grad_f(x, y):
    """Gradient (df/dx, df/dy) of f(x, y) = x**2 * y + y + 2."""
    return [2.0 * x * y, x * x + 1.0]
'''),
    Alternative("grad_f", "a numpy array built from named partials", '''\
def grad_f(x, y):
    """Gradient (df/dx, df/dy) of f(x, y) = x**2 * y + y + 2."""
    df_dx = 2 * x * y          # d/dx (x**2 y) = 2xy; y and 2 are constants in x
    df_dy = x**2 + 1           # d/dy (x**2 y + y + 2) = x**2 + 1
    return np.array([df_dx, df_dy])
'''),
    # ------------------------------------------------------------- hessian_f
    Alternative("hessian_f", "nested lists", '''\
def hessian_f(x, y):
    """Hessian [[f_xx, f_xy], [f_yx, f_yy]] of f(x, y) = x**2 * y + y + 2."""
    return [[2 * y, 2 * x], [2 * x, 0]]
'''),
    Alternative("hessian_f", "np.zeros filled entry by entry", '''\
def hessian_f(x, y):
    """Hessian [[f_xx, f_xy], [f_yx, f_yy]] of f(x, y) = x**2 * y + y + 2."""
    H = np.zeros((2, 2))
    H[0, 0] = 2 * y
    H[0, 1] = H[1, 0] = 2 * x
    return H
'''),
    # --------------------------------------------------------- sigmoid_prime
    Alternative("sigmoid_prime", "exp(-|z|) / (1 + exp(-|z|))**2 (even function)", '''\
def sigmoid_prime(z):
    """Derivative of the logistic sigmoid, elementwise, stable for abs(z) <= 700."""
    e = np.exp(-np.abs(np.asarray(z, dtype=float)))
    return e / (1.0 + e) ** 2
'''),
    Alternative("sigmoid_prime", "stable two-branch sigmoid, then s * (1 - s)", '''\
def sigmoid_prime(z):
    """Derivative of the logistic sigmoid, elementwise, stable for abs(z) <= 700."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return s * (1.0 - s)
'''),
    Alternative("sigmoid_prime", "scalar loop with math.exp", '''\
import math


def sigmoid_prime(z):
    """Derivative of the logistic sigmoid, elementwise, stable for abs(z) <= 700."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index, value in np.ndenumerate(z):
        e = math.exp(-abs(value))
        out[index] = e / (1 + e) ** 2
    return out if z.ndim else float(out)
'''),
    # ------------------------------------------------------------ relu_prime
    Alternative("relu_prime", "boolean mask cast to float", '''\
def relu_prime(z):
    """Derivative of max(0, z): 1.0 where z > 0, else 0.0 (0.0 at z == 0)."""
    return (np.asarray(z) > 0).astype(float)
'''),
    Alternative("relu_prime", "np.heaviside with value 0 at 0", '''\
def relu_prime(z):
    """Derivative of max(0, z): 1.0 where z > 0, else 0.0 (0.0 at z == 0)."""
    return np.heaviside(z, 0.0)
'''),
    Alternative("relu_prime", "loop filling a float array of zeros", '''\
def relu_prime(z):
    """Derivative of max(0, z): 1.0 where z > 0, else 0.0 (0.0 at z == 0)."""
    z = np.asarray(z)
    out = np.zeros(z.shape)
    for index in np.ndindex(z.shape):
        if z[index] > 0:
            out[index] = 1.0
    return out
'''),
]
