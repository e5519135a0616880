"""Common mistakes and alternative right answers for 08-optimizers."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "08-optimizers"

_p = patcher(LESSON)


# ------------------------------------------------------------------------ momentum_step

_MOM_V = "v_new = gamma * np.asarray(v, dtype=float) + lr * np.asarray(grads, dtype=float)"
_MOM_RET = "return np.asarray(params, dtype=float) - v_new, v_new"

_MOMENTUM = [
    Mutant("momentum_step", "PyTorch-form momentum (v = gamma v + g; params -= lr v)",
           _p("momentum_step", ("+ lr * np.asarray(grads", "+ np.asarray(grads"),
              ("- v_new, v_new", "- lr * v_new, v_new")),
           r"(?s)`v` returned by momentum_step is wrong.*PyTorch form"),
    Mutant("momentum_step", "sign flip: params + v",
           _p("momentum_step", ("- v_new, v_new", "+ v_new, v_new")),
           r"params moved uphill"),
    Mutant("momentum_step", "velocity updated in place (v *= gamma; v += lr g)",
           _p("momentum_step", (_MOM_V, "v_new = np.asarray(v, dtype=float)\n"
                                        "    v_new *= gamma\n"
                                        "    v_new += lr * np.asarray(grads, dtype=float)")),
           r"modified its argument `v` in place"),
    Mutant("momentum_step", "params updated in place (params -= v)",
           _p("momentum_step", (_MOM_RET, "params -= v_new\n    return params.copy(), v_new")),
           r"modified its argument `params` in place"),
    Mutant("momentum_step", "params stepped with the old velocity",
           _p("momentum_step", ("- v_new, v_new", "- v, v_new")),
           r"updated with the old velocity"),
    Mutant("momentum_step", "gamma forgotten: v = v + lr g",
           _p("momentum_step", ("gamma * np.asarray(v", "np.asarray(v")),
           r"gamma is missing"),
    Mutant("momentum_step", "the other sign convention for v (v = gamma v - lr g, params + v)",
           _p("momentum_step", ("+ lr * np.asarray(grads", "- lr * np.asarray(grads"),
              ("- v_new, v_new", "+ v_new, v_new")),
           r"opposite sign"),
    Mutant("momentum_step", "exponential moving average (1 - gamma) lr g instead of lr g",
           _p("momentum_step",
              ("+ lr * np.asarray(grads", "+ (1 - gamma) * lr * np.asarray(grads")),
           r"exponential moving average"),
    Mutant("momentum_step", "learning rate applied twice (params - lr v with lr already in v)",
           _p("momentum_step", ("- v_new, v_new", "- lr * v_new, v_new")),
           r"learning rate twice"),
]

_MOMENTUM_ALT = [
    Alternative("momentum_step", "element by element over flattened copies", '''\
def momentum_step(params, grads, v, lr, gamma):
    """One step of momentum, textbook form."""
    params = np.array(params, dtype=float)
    v = np.array(v, dtype=float)
    grads = np.asarray(grads, dtype=float)
    new_p, new_v = params.ravel(), v.ravel()
    for i, g in enumerate(grads.ravel()):
        new_v[i] = gamma * new_v[i] + lr * g
        new_p[i] = new_p[i] - new_v[i]
    return new_p.reshape(params.shape), new_v.reshape(v.shape)
'''),
    Alternative("momentum_step", "copies updated in place, returned as a list", '''\
def momentum_step(params, grads, v, lr, gamma):
    """One step of momentum, textbook form."""
    v = np.array(v, dtype=float)        # a copy: updating it in place is harmless
    v *= gamma
    v += lr * np.asarray(grads, dtype=float)
    params = np.array(params, dtype=float)
    params -= v
    return [params, v]
'''),
    Alternative("momentum_step", "PyTorch trace scaled back by lr (same textbook velocity)", '''\
def momentum_step(params, grads, v, lr, gamma):
    """One step of momentum, textbook form, through the PyTorch trace b = v / lr."""
    trace = gamma * (np.asarray(v, dtype=float) / lr) + np.asarray(grads, dtype=float)
    v_new = lr * trace
    return np.asarray(params, dtype=float) - v_new, v_new
'''),
]

# ------------------------------------------------------------------------ nesterov_step

_NAG_V = "v_new = gamma * v + lr * np.asarray(grad_fn(params - gamma * v), dtype=float)"

_NESTEROV = [
    Mutant("nesterov_step", "gradient taken at params, not at the look-ahead point",
           _p("nesterov_step", ("asarray(grad_fn(params - gamma * v)", "asarray(grad_fn(params)")),
           r"gradient was taken at params.*plain momentum"),
    Mutant("nesterov_step", "look-ahead with the wrong sign: params + gamma v",
           _p("nesterov_step", ("asarray(grad_fn(params - gamma * v)",
                                "asarray(grad_fn(params + gamma * v)")),
           r"look-ahead point has the wrong sign"),
    Mutant("nesterov_step", "PyTorch-form Nesterov (trace at params, step lr (g + gamma b))",
           _p("nesterov_step", (_NAG_V, "g = np.asarray(grad_fn(params), dtype=float)\n"
                                        "    v_new = gamma * v + g"),
              ("return params - v_new, v_new",
               "return params - lr * (g + gamma * v_new), v_new")),
           r"PyTorch form of Nesterov"),
    Mutant("nesterov_step", "learning rate missing from the velocity",
           _p("nesterov_step", ("+ lr * np.asarray(grad_fn", "+ np.asarray(grad_fn")),
           r"learning rate is missing"),
    Mutant("nesterov_step", "velocity updated in place",
           _p("nesterov_step", (_NAG_V, "g = np.asarray(grad_fn(params - gamma * v), dtype=float)\n"
                                        "    v *= gamma\n"
                                        "    v += lr * g\n"
                                        "    v_new = v.copy()")),
           r"modified its argument `v` in place"),
    Mutant("nesterov_step", "step taken from the look-ahead point (params - gamma v - v)",
           _p("nesterov_step", ("return params - v_new, v_new",
                                "return params - gamma * v - v_new, v_new")),
           r"moved from the look-ahead point"),
    Mutant("nesterov_step", "sign flip: params + v",
           _p("nesterov_step", ("return params - v_new, v_new", "return params + v_new, v_new")),
           r"params moved uphill"),
]

_NESTEROV_ALT = [
    Alternative("nesterov_step", "look-ahead point named, terms in another order", '''\
def nesterov_step(params, grad_fn, v, lr, gamma):
    """One step of Nesterov accelerated gradient, textbook form."""
    look_ahead = np.asarray(params, dtype=float) - gamma * np.asarray(v, dtype=float)
    g = np.asarray(grad_fn(look_ahead), dtype=float)
    v_new = lr * g + gamma * np.asarray(v, dtype=float)
    return np.asarray(params, dtype=float) - v_new, v_new
'''),
    Alternative("nesterov_step", "new params as a gradient step from the look-ahead point", '''\
def nesterov_step(params, grad_fn, v, lr, gamma):
    """params - v_new equals (params - gamma v) - lr g: step from the look-ahead point."""
    params, v = np.asarray(params, dtype=float), np.asarray(v, dtype=float)
    look_ahead = params - gamma * v
    g = np.asarray(grad_fn(look_ahead), dtype=float)
    return look_ahead - lr * g, gamma * v + lr * g
'''),
]

# ------------------------------------------------------------------------- adagrad_step

_ADAGRAD = [
    Mutant("adagrad_step", "epsilon outside the square root",
           _p("adagrad_step", ("np.sqrt(G_new + eps)", "(np.sqrt(G_new) + eps)")),
           r"epsilon is outside the square root"),
    Mutant("adagrad_step", "accumulating g instead of g**2",
           _p("adagrad_step", ("dtype=float) + grads**2", "dtype=float) + grads"),
              ("np.sqrt(G_new + eps)", "np.sqrt(np.abs(G_new) + eps)")),
           r"accumulates the gradients themselves"),
    Mutant("adagrad_step", "step divided by the old G (G updated after the step)",
           _p("adagrad_step", ("np.sqrt(G_new + eps)", "np.sqrt(np.asarray(G) + eps)")),
           r"used the old G"),
    Mutant("adagrad_step", "G updated in place (G += g**2)",
           _p("adagrad_step", ("G_new = np.asarray(G, dtype=float) + grads**2",
                               "G_new = np.asarray(G, dtype=float)\n    G_new += grads**2")),
           r"modified its argument `G` in place"),
    Mutant("adagrad_step", "square root forgotten",
           _p("adagrad_step", ("np.sqrt(G_new + eps)", "(G_new + eps)")),
           r"square root is missing"),
    Mutant("adagrad_step", "G replaced by g**2 instead of accumulated",
           _p("adagrad_step", ("np.asarray(G, dtype=float) + grads**2", "grads**2")),
           r"replaced by g\*\*2 instead of accumulated"),
    Mutant("adagrad_step", "wrong default eps=1e-6",
           _p("adagrad_step", ("lr, eps=1e-8)", "lr, eps=1e-6)")),
           r"relies on the defaults eps=1e-08"),
]

_ADAGRAD_ALT = [
    Alternative("adagrad_step", "np.add / np.square and a -0.5 power", '''\
def adagrad_step(params, grads, G, lr, eps=1e-8):
    """One step of Adagrad (eps inside the square root)."""
    G_new = np.add(G, np.square(grads))
    return np.subtract(params, lr * np.multiply(grads, (G_new + eps) ** -0.5)), G_new
'''),
    Alternative("adagrad_step", "element by element with math.sqrt", '''\
import math


def adagrad_step(params, grads, G, lr, eps=1e-8):
    """One step of Adagrad (eps inside the square root)."""
    params = np.array(params, dtype=float)
    G_new = np.array(G, dtype=float)
    flat_p, flat_G = params.reshape(-1), G_new.reshape(-1)
    for i, g in enumerate(np.asarray(grads, dtype=float).reshape(-1)):
        flat_G[i] += g * g
        flat_p[i] -= lr * g / math.sqrt(flat_G[i] + eps)
    return params, G_new
'''),
]

# ------------------------------------------------------------------------- rmsprop_step

_RMS_E = "Eg2_new = gamma * np.asarray(Eg2, dtype=float) + (1 - gamma) * grads**2"

_RMSPROP = [
    Mutant("rmsprop_step", "epsilon outside the square root (PyTorch placement)",
           _p("rmsprop_step", ("np.sqrt(Eg2_new + eps)", "(np.sqrt(Eg2_new) + eps)")),
           r"epsilon is outside the square root"),
    Mutant("rmsprop_step", "decay weights swapped",
           _p("rmsprop_step", (_RMS_E, "Eg2_new = (1 - gamma) * np.asarray(Eg2, dtype=float) "
                                       "+ gamma * grads**2")),
           r"decay weights are swapped"),
    Mutant("rmsprop_step", "Adagrad's running sum instead of a decaying average",
           _p("rmsprop_step", (_RMS_E, "Eg2_new = np.asarray(Eg2, dtype=float) + grads**2")),
           r"Adagrad's sum"),
    Mutant("rmsprop_step", "Eg2 updated in place",
           _p("rmsprop_step", (_RMS_E, "Eg2_new = np.asarray(Eg2, dtype=float)\n"
                                       "    Eg2_new *= gamma\n"
                                       "    Eg2_new += (1 - gamma) * grads**2")),
           r"modified its argument `Eg2` in place"),
    Mutant("rmsprop_step", "wrong default gamma=0.99",
           _p("rmsprop_step", ("gamma=0.9, eps=1e-8", "gamma=0.99, eps=1e-8")),
           r"relies on the defaults gamma=0\.9"),
    Mutant("rmsprop_step", "step divided by the old average",
           _p("rmsprop_step", ("np.sqrt(Eg2_new + eps)", "np.sqrt(np.asarray(Eg2) + eps)")),
           r"used the old Eg2"),
    Mutant("rmsprop_step", "average of g instead of g**2",
           _p("rmsprop_step", ("dtype=float) + (1 - gamma) * grads**2",
                               "dtype=float) + (1 - gamma) * grads"),
              ("np.sqrt(Eg2_new + eps)", "np.sqrt(np.abs(Eg2_new) + eps)")),
           r"average must be of squared gradients"),
]

_RMSPROP_ALT = [
    Alternative("rmsprop_step", "average as a linear interpolation towards g**2", '''\
def rmsprop_step(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    """One step of RMSProp (eps inside the square root)."""
    grads = np.asarray(grads, dtype=float)
    Eg2_new = Eg2 + (1 - gamma) * (grads**2 - Eg2)
    return params - lr * grads / np.sqrt(Eg2_new + eps), Eg2_new
'''),
    Alternative("rmsprop_step", "RMS helper and a -0.5 power, list returned", '''\
def rmsprop_step(params, grads, Eg2, lr, gamma=0.9, eps=1e-8):
    """One step of RMSProp (eps inside the square root)."""
    def inverse_rms(mean_square):
        return (mean_square + eps) ** -0.5

    Eg2_new = gamma * np.asarray(Eg2, dtype=float) + (1 - gamma) * np.square(grads)
    return [np.asarray(params, dtype=float) - lr * inverse_rms(Eg2_new) * grads, Eg2_new]
'''),
]

# ------------------------------------------------------------------------ adadelta_step

_AD_DX = "dx = -np.sqrt(Edx2 + eps) / np.sqrt(Eg2_new + eps) * grads"
_AD_EDX_LINE = "Edx2_new = gamma * Edx2 + (1 - gamma) * dx**2"
_AD_EDX = _AD_EDX_LINE + "\n    return"  # the docstring has the same line

_ADADELTA = [
    Mutant("adadelta_step", "RMSProp-style learning rate (0.01) instead of RMS[dx]",
           _p("adadelta_step", (_AD_DX, "dx = -0.01 / np.sqrt(Eg2_new + eps) * grads")),
           r"RMSProp with a learning rate of 0\.01"),
    Mutant("adadelta_step", "Zeiler's update scaled by a learning rate of 0.1",
           _p("adadelta_step", ("np.asarray(params, dtype=float) + dx",
                                "np.asarray(params, dtype=float) + 0.1 * dx")),
           r"scaled by a learning rate of 0\.1"),
    Mutant("adadelta_step", "Edx2 updated (with g**2) before dx is computed",
           _p("adadelta_step", (_AD_DX, "Edx2 = gamma * Edx2 + (1 - gamma) * grads**2\n    "
                                + _AD_DX),
              (_AD_EDX, "Edx2_new = Edx2\n    return")),
           r"Edx2 was updated before computing dx"),
    Mutant("adadelta_step", "numerator uses the updated Edx2",
           _p("adadelta_step", (_AD_EDX, _AD_EDX_LINE + "\n    dx = -np.sqrt(Edx2_new + eps) "
                                                       "/ np.sqrt(Eg2_new + eps) * grads"
                                                       "\n    return")),
           r"numerator used the updated Edx2"),
    Mutant("adadelta_step", "eps missing from the numerator (never moves from Edx2 = 0)",
           _p("adadelta_step", ("-np.sqrt(Edx2 + eps)", "-np.sqrt(Edx2)")),
           r"never moves"),
    Mutant("adadelta_step", "denominator uses the old Eg2",
           _p("adadelta_step", ("np.sqrt(Eg2_new + eps) * grads",
                                "np.sqrt(np.asarray(Eg2) + eps) * grads")),
           r"denominator used the old Eg2"),
    Mutant("adadelta_step", "sign flip: params - dx",
           _p("adadelta_step", ("np.asarray(params, dtype=float) + dx",
                                "np.asarray(params, dtype=float) - dx")),
           r"uphill"),
    Mutant("adadelta_step", "Edx2 updated in place",
           _p("adadelta_step", (_AD_EDX, "Edx2 *= gamma\n    Edx2 += (1 - gamma) * dx**2\n"
                                         "    Edx2_new = Edx2.copy()\n    return")),
           r"modified its argument `Edx2` in place"),
    Mutant("adadelta_step", "Edx2 accumulates g**2 instead of the squared update",
           _p("adadelta_step", (_AD_EDX, "Edx2_new = gamma * Edx2 + (1 - gamma) * grads**2"
                                         "\n    return")),
           r"accumulate the squared \*update\*"),
    Mutant("adadelta_step", "numerator and denominator swapped",
           _p("adadelta_step", (_AD_DX, "dx = -np.sqrt(Eg2_new + eps) / np.sqrt(Edx2 + eps) "
                                        "* grads")),
           r"numerator and denominator are swapped"),
]

_ADADELTA_ALT = [
    Alternative("adadelta_step", "Zeiler's RMS helper, step subtracted rather than added", '''\
def adadelta_step(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    """One step of Adadelta (Zeiler 2012, Algorithm 1); there is no learning rate."""
    def rms(mean_square):
        return np.sqrt(mean_square + eps)

    Eg2 = gamma * Eg2 + (1 - gamma) * np.square(grads)
    step = rms(Edx2) * grads / rms(Eg2)
    return params - step, Eg2, gamma * Edx2 + (1 - gamma) * step * step
'''),
    Alternative("adadelta_step", "one square root of the ratio, averages as interpolations", '''\
def adadelta_step(params, grads, Eg2, Edx2, gamma=0.9, eps=1e-6):
    """One step of Adadelta (Zeiler 2012, Algorithm 1); there is no learning rate."""
    grads = np.asarray(grads, dtype=float)
    Eg2_new = Eg2 + (1 - gamma) * (grads**2 - Eg2)
    dx = -np.sqrt((Edx2 + eps) / (Eg2_new + eps)) * grads
    Edx2_new = Edx2 + (1 - gamma) * (dx**2 - Edx2)
    return (params + dx, Eg2_new, Edx2_new)
'''),
]

# ---------------------------------------------------------------------------- adam_step

_ADAM_RET = ("return np.asarray(params, dtype=float) - lr * m_hat / (np.sqrt(v_hat) + eps), "
             "m_new, v_new")

_ADAM_HAT = "    m_hat = m_new / (1 - b1**t)\n    v_hat = v_new / (1 - b2**t)\n"


def _adam_hat(m_hat: str, v_hat: str) -> tuple[str, str]:
    return _ADAM_HAT, f"    m_hat = {m_hat}\n    v_hat = {v_hat}\n"


_ADAM = [
    Mutant("adam_step", "epsilon inside the square root",
           _p("adam_step", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")),
           r"epsilon is inside the square root"),
    Mutant("adam_step", "missing bias correction",
           _p("adam_step", _adam_hat("m_new", "v_new")),
           r"bias correction is missing"),
    Mutant("adam_step", "t counted from 0 (correction uses t + 1)",
           _p("adam_step", _adam_hat("m_new / (1 - b1 ** (t + 1))", "v_new / (1 - b2 ** (t + 1))")),
           r"t was treated as starting at 0"),
    Mutant("adam_step", "correction uses t - 1",
           _p("adam_step", _adam_hat("m_new / (1 - b1 ** (t - 1))", "v_new / (1 - b2 ** (t - 1))")),
           r"bias correction used t - 1|with t - 1 in place of t"),
    Mutant("adam_step", "bias-corrected moments returned as the state",
           _p("adam_step", ("eps), m_new, v_new", "eps), m_hat, v_hat")),
           r"bias-corrected m_hat as the state"),
    Mutant("adam_step", "m updated in place",
           _p("adam_step", ("m_new = b1 * np.asarray(m, dtype=float) + (1 - b1) * grads",
                            "m_new = np.asarray(m, dtype=float)\n    m_new *= b1\n"
                            "    m_new += (1 - b1) * grads")),
           r"modified its argument `m` in place"),
    Mutant("adam_step", "only params and m returned",
           _p("adam_step", (_ADAM_RET, _ADAM_RET.removesuffix(", v_new"))),
           r"return the tuple \(params, m, v\)"),
    Mutant("adam_step", "decay weights of m swapped",
           _p("adam_step", ("b1 * np.asarray(m, dtype=float) + (1 - b1) * grads",
                            "(1 - b1) * np.asarray(m, dtype=float) + b1 * grads")),
           r"decay weights of m are swapped"),
    Mutant("adam_step", "only m bias-corrected",
           _p("adam_step", _adam_hat("m_new / (1 - b1**t)", "v_new")),
           r"only m is bias-corrected"),
    Mutant("adam_step", "v averages g instead of g**2",
           _p("adam_step",
              ("dtype=float) + (1 - b2) * grads**2", "dtype=float) + (1 - b2) * grads"),
              ("np.sqrt(v_hat)", "np.sqrt(np.abs(v_hat))")),
           r"v must average squared gradients"),
]

_ADAM_ALT = [
    Alternative("adam_step", "Kingma & Ba's efficient order with eps rescaled to match", '''\
def adam_step(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One step of Adam with bias correction; t counts from 1."""
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads**2
    c2 = np.sqrt(1 - b2**t)
    lr_t = lr * c2 / (1 - b1**t)
    return params - lr_t * m / (np.sqrt(v) + eps * c2), m, v
'''),
    Alternative("adam_step", "moments as interpolations, np.power, list returned", '''\
def adam_step(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One step of Adam with bias correction; t counts from 1."""
    grads = np.asarray(grads, dtype=float)
    m_new = m + (1 - b1) * (grads - m)
    v_new = v + (1 - b2) * (np.square(grads) - v)
    m_hat = m_new / (1.0 - np.power(b1, t))
    v_hat = v_new / (1.0 - np.power(b2, t))
    return [params - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new]
'''),
    Alternative("adam_step", "written as a small class used once per call", '''\
class _Adam:
    def __init__(self, lr, b1, b2, eps):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps

    def step(self, params, grads, m, v, t):
        m = self.b1 * np.asarray(m, dtype=float) + (1 - self.b1) * grads
        v = self.b2 * np.asarray(v, dtype=float) + (1 - self.b2) * grads * grads
        m_hat, v_hat = m / (1 - self.b1**t), v / (1 - self.b2**t)
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps), m, v


def adam_step(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One step of Adam with bias correction; t counts from 1."""
    return _Adam(lr, b1, b2, eps).step(params, np.asarray(grads, dtype=float), m, v, t)
'''),
]

MUTANTS = [*_MOMENTUM, *_NESTEROV, *_ADAGRAD, *_RMSPROP, *_ADADELTA, *_ADAM]
ALTERNATIVES = [*_MOMENTUM_ALT, *_NESTEROV_ALT, *_ADAGRAD_ALT, *_RMSPROP_ALT, *_ADADELTA_ALT,
                *_ADAM_ALT]
