"""Common mistakes and alternative right answers for 09-neural-network."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "09-neural-network"

_p = patcher(LESSON)


# -------------------------------------------------------------------------- mlp_forward

_FWD_HIDDEN = "a1 = np.tanh(X @ W1 + b1)"
_FWD_RET = "return sigmoid(a1 @ W2 + b2)[:, 0]"

_MLP_FORWARD = [
    Mutant("mlp_forward", "returned the logit: output sigmoid forgotten",
           _p("mlp_forward", (_FWD_RET, "return (a1 @ W2 + b2)[:, 0]")),
           r"returned the logit z2(?s:.*)applies the sigmoid"),
    Mutant("mlp_forward", "sigmoid in the hidden layer instead of tanh",
           _p("mlp_forward", (_FWD_HIDDEN, "a1 = sigmoid(X @ W1 + b1)")),
           r"hidden layer used the sigmoid"),
    Mutant("mlp_forward", "ReLU in the hidden layer instead of tanh",
           _p("mlp_forward", (_FWD_HIDDEN, "a1 = np.maximum(X @ W1 + b1, 0.0)")),
           r"hidden layer used ReLU"),
    Mutant("mlp_forward", "no hidden activation (a linear model)",
           _p("mlp_forward", (_FWD_HIDDEN, "a1 = X @ W1 + b1")),
           r"hidden layer has no activation"),
    Mutant("mlp_forward", "hidden bias b1 forgotten",
           _p("mlp_forward", (_FWD_HIDDEN, "a1 = np.tanh(X @ W1)")),
           r"hidden bias b1 is missing"),
    Mutant("mlp_forward", "output bias b2 forgotten",
           _p("mlp_forward", (_FWD_RET, "return sigmoid(a1 @ W2)[:, 0]")),
           r"output bias b2 is missing"),
    Mutant("mlp_forward", "returned 1 - p, the probability of class 0",
           _p("mlp_forward", (_FWD_RET, "return 1.0 - sigmoid(a1 @ W2 + b2)[:, 0]")),
           r"returned 1 - p"),
    Mutant("mlp_forward", "W1 transposed (W1 @ x per example written as X @ W1.T)",
           _p("mlp_forward", (_FWD_HIDDEN, "a1 = np.tanh(X @ W1.T + b1)")),
           r"multiplied by W1 transposed"),
    Mutant("mlp_forward", "averaged over the batch: one number instead of one per row",
           _p("mlp_forward", (_FWD_RET, "return sigmoid(a1 @ W2 + b2).mean()")),
           r"returned a single number"),
    Mutant("mlp_forward", "transposed result: a (1, n) row",
           _p("mlp_forward", (_FWD_RET, "return sigmoid(a1 @ W2 + b2).T")),
           r"you returned a row \(1, n\)"),
    Mutant("mlp_forward", "returned the hidden activations (output layer forgotten)",
           _p("mlp_forward", (_FWD_RET, "return a1")),
           r"returned the hidden activations"),
    Mutant("mlp_forward", "tanh at the output instead of the sigmoid",
           _p("mlp_forward", (_FWD_RET, "return np.tanh(a1 @ W2 + b2)[:, 0]")),
           r"output used tanh"),
    Mutant("mlp_forward", "the caller's X modified in place (X += ...)",
           _p("mlp_forward", (_FWD_HIDDEN, "X[0, 0] += 1.0\n    " + _FWD_HIDDEN)),
           r"modified its argument `X` in place"),
]

_MLP_FORWARD_ALT = [
    Alternative("mlp_forward", "the (n, 1) column, sigmoid written as 1 / (1 + exp(-z))", '''\
def mlp_forward(params, X):
    """Probabilities p = sigmoid(tanh(X @ W1 + b1) @ W2 + b2) of a two-layer perceptron.

    params = [(W1, b1), (W2, b2)] with W1 (d, h), b1 (h,), W2 (h, 1), b2 (1,);
    X has shape (n, d). Returns p with shape (n,): p[i] = P(y = 1 | X[i]).
    """
    (W1, b1), (W2, b2) = params
    hidden = np.tanh(np.dot(X, W1) + b1)
    z = np.dot(hidden, W2) + b2
    return 1.0 / (1.0 + np.exp(-z))
'''),
    Alternative("mlp_forward", "one example at a time, per-unit sums", '''\
def mlp_forward(params, X):
    """Probabilities p = sigmoid(tanh(X @ W1 + b1) @ W2 + b2) of a two-layer perceptron.

    params = [(W1, b1), (W2, b2)] with W1 (d, h), b1 (h,), W2 (h, 1), b2 (1,);
    X has shape (n, d). Returns p with shape (n,): p[i] = P(y = 1 | X[i]).
    """
    (W1, b1), (W2, b2) = params
    out = []
    for x in X:
        a = np.tanh(x @ W1 + b1)              # (h,)
        z = float(a @ W2[:, 0] + b2[0])
        out.append(1.0 / (1.0 + np.exp(-z)) if z >= 0 else np.exp(z) / (1.0 + np.exp(z)))
    return np.array(out)
'''),
    Alternative("mlp_forward", "einsum and a tanh-form sigmoid", '''\
def mlp_forward(params, X):
    """Probabilities p = sigmoid(tanh(X @ W1 + b1) @ W2 + b2) of a two-layer perceptron.

    params = [(W1, b1), (W2, b2)] with W1 (d, h), b1 (h,), W2 (h, 1), b2 (1,);
    X has shape (n, d). Returns p with shape (n,): p[i] = P(y = 1 | X[i]).
    """
    (W1, b1), (W2, b2) = params
    a1 = np.tanh(np.einsum("nd,dh->nh", X, W1) + b1)
    z2 = np.einsum("nh,h->n", a1, W2[:, 0]) + b2[0]
    return 0.5 * (1.0 + np.tanh(0.5 * z2))
'''),
]


# ------------------------------------------------------------------------- mlp_backward

_DELTA2 = "delta2 = (p - np.reshape(y, (n, 1))) / n"
_DELTA1 = "delta1 = (delta2 @ W2.T) * (1.0 - a1**2)"
_RETURN = "return [(dW1, db1), (dW2, db2)]"

_MLP_BACKWARD = [
    Mutant("mlp_backward", "missing chain-rule term: tanh' left out of delta1",
           _p("mlp_backward", (_DELTA1, "delta1 = delta2 @ W2.T")),
           r"missing the tanh' factor"),
    Mutant("mlp_backward", "tanh' computed from the pre-activation: 1 - z1**2",
           _p("mlp_backward", ("a1 = np.tanh(X @ W1 + b1)",
                               "z1 = X @ W1 + b1\n    a1 = np.tanh(z1)"),
              (_DELTA1, "delta1 = (delta2 @ W2.T) * (1.0 - z1**2)")),
           r"square the activation a1, not the pre-activation z1"),
    Mutant("mlp_backward", "precedence slip in tanh': (1 - a1)**2",
           _p("mlp_backward", (_DELTA1, "delta1 = (delta2 @ W2.T) * (1.0 - a1)**2")),
           r"not \(1 - a1\)\*\*2"),
    Mutant("mlp_backward", "tanh applied twice in tanh': 1 - tanh(a1)**2",
           _p("mlp_backward", (_DELTA1, "delta1 = (delta2 @ W2.T) * (1.0 - np.tanh(a1)**2)")),
           r"applied tanh twice"),
    Mutant("mlp_backward", "forgot the mean: no division by n",
           _p("mlp_backward", (_DELTA2, "delta2 = p - np.reshape(y, (n, 1))")),
           r"you summed over the examples(?s:.*)MEAN cross-entropy"),
    Mutant("mlp_backward", "mean taken twice: db and dW averaged on top of delta2 / n",
           _p("mlp_backward", ("dW2 = a1.T @ delta2\n", "dW2 = a1.T @ delta2 / n\n"),
              ("db2 = delta2.sum(axis=0)", "db2 = delta2.mean(axis=0)"),
              ("dW1 = X.T @ delta1\n", "dW1 = X.T @ delta1 / n\n"),
              ("db1 = delta1.sum(axis=0)", "db1 = delta1.mean(axis=0)")),
           r"divided by n twice"),
    Mutant("mlp_backward", "sign flip: y - p",
           _p("mlp_backward", (_DELTA2, "delta2 = (np.reshape(y, (n, 1)) - p) / n")),
           r"sign is flipped"),
    Mutant("mlp_backward", "extra sigmoid' factor p (1 - p) in delta2",
           _p("mlp_backward", (_DELTA2, _DELTA2 + " * p * (1 - p)")),
           r"sigmoid'\(z2\) = p \(1 - p\) on top of the cross-entropy"),
    Mutant("mlp_backward", "gradient of the squared error instead of the cross-entropy",
           _p("mlp_backward", (_DELTA2, "delta2 = 2 * (p - np.reshape(y, (n, 1))) "
                                        "* p * (1 - p) / n")),
           r"gradient of the squared error"),
    Mutant("mlp_backward", "dW2 from the pre-activations z1 instead of a1",
           _p("mlp_backward", ("a1 = np.tanh(X @ W1 + b1)",
                               "z1 = X @ W1 + b1\n    a1 = np.tanh(z1)"),
              ("dW2 = a1.T @ delta2\n", "dW2 = z1.T @ delta2\n")),
           r"dW2 uses the hidden activations(?s:.*)not the pre-activations z1"),
    Mutant("mlp_backward", "transposed result: dW1 = delta1.T @ X",
           _p("mlp_backward", ("dW1 = X.T @ delta1\n", "dW1 = delta1.T @ X\n")),
           r"gradient is transposed|dW1 is transposed"),
    Mutant("mlp_backward", "bias gradients summed with keepdims=True",
           _p("mlp_backward", ("db1 = delta1.sum(axis=0)", "db1 = delta1.sum(axis=0, "
                                                           "keepdims=True)")),
           r"no keepdims"),
    Mutant("mlp_backward", "output bias gradient summed to a scalar: delta2.sum()",
           _p("mlp_backward", ("db2 = delta2.sum(axis=0)", "db2 = delta2.sum()")),
           r"db2 is a scalar"),
    Mutant("mlp_backward", "y (n,) subtracted from the (n, 1) column p: (n, n) broadcast",
           _p("mlp_backward", (_DELTA2, "delta2 = (p - y) / n")),
           r"(?s)likely mistake: an \(n, n\) = \(4, 4\) array appeared\. Subtracting y of shape "
           r"\(n,\) from the column p.*broadcasts `p - y` to an \(n, n\) matrix"),
    Mutant("mlp_backward", "y turned into a column in place: y.shape = (n, 1)",
           _p("mlp_backward", (_DELTA2, "y.shape = (n, 1)\n    delta2 = (p - y) / n")),
           r"changed the shape of its argument `y` in place"),
    Mutant("mlp_backward", "layers returned in backprop order [(dW2, db2), (dW1, db1)]",
           _p("mlp_backward", (_RETURN, "return [(dW2, db2), (dW1, db1)]")),
           r"layers are in reverse order"),
    Mutant("mlp_backward", "pairs returned as (db, dW)",
           _p("mlp_backward", (_RETURN, "return [(db1, dW1), (db2, dW2)]")),
           r"each pair is \(db, dW\)"),
    Mutant("mlp_backward", "db1 left as delta1: not summed over the batch",
           _p("mlp_backward", ("db1 = delta1.sum(axis=0)", "db1 = delta1")),
           r"not summed over the batch"),
    Mutant("mlp_backward", "a flat list [dW1, db1, dW2, db2] instead of two pairs",
           _p("mlp_backward", (_RETURN, "return [dW1, db1, dW2, db2]")),
           r"list of two"),
    Mutant("mlp_backward", "the parameter W1 updated in place (a gradient step taken)",
           _p("mlp_backward", (_RETURN, "W1 -= 0.1 * dW1\n    " + _RETURN)),
           r"modified the parameter W1 in place"),
    Mutant("mlp_backward", "the gradients appended to the caller's list params",
           _p("mlp_backward", (_RETURN, "params.append((dW1, db1))\n    " + _RETURN)),
           r"changed the list `params` in place"),
    Mutant("mlp_backward", "gradients by jax.grad (JAX arrays, and not by hand)",
           _p("mlp_backward", ("    (W1, b1), (W2, b2) = params\n    n = X.shape[0]\n", """\
    import jax
    import jax.numpy as jnp

    def loss(ps):
        (W1, b1), (W2, b2) = ps
        p = jax.nn.sigmoid(jnp.tanh(X @ W1 + b1) @ W2 + b2)[:, 0]
        return -jnp.mean(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))

    return [tuple(layer) for layer in jax.grad(loss)(
        [tuple(map(jnp.asarray, layer)) for layer in params])]
    (W1, b1), (W2, b2) = params
    n = X.shape[0]
""")),
           r"JAX arrays|uses jax"),  # the live check, or the by-hand rule when graded
]

_MLP_BACKWARD_ALT = [
    Alternative("mlp_backward", "vector delta2 of shape (n,), reshaped where needed", '''\
def mlp_backward(params, X, y):
    """Gradients of the mean binary cross-entropy of mlp_forward(params, X) against y."""
    (W1, b1), (W2, b2) = params
    n = len(X)
    a1 = np.tanh(X @ W1 + b1)
    p = 1.0 / (1.0 + np.exp(-(a1 @ W2[:, 0] + b2[0])))   # (n,)
    delta2 = (p - y) / n                                   # (n,)
    dW2 = np.outer(a1.T @ delta2, np.ones(1))             # (h, 1)
    db2 = np.array([delta2.sum()])
    delta1 = np.outer(delta2, W2[:, 0]) * (1.0 - a1**2)   # (n, h)
    return [(X.T @ delta1, delta1.sum(axis=0)), (dW2, db2)]
'''),
    Alternative("mlp_backward", "example by example, gradients accumulated in a loop", '''\
def mlp_backward(params, X, y):
    """Gradients of the mean binary cross-entropy of mlp_forward(params, X) against y."""
    (W1, b1), (W2, b2) = params
    n = X.shape[0]
    dW1, db1 = np.zeros_like(W1), np.zeros_like(b1)
    dW2, db2 = np.zeros_like(W2), np.zeros_like(b2)
    for x, target in zip(X, y):
        a = np.tanh(x @ W1 + b1)                      # (h,)
        p = sigmoid(a @ W2 + b2)                      # (1,)
        d2 = (p - target) / n                         # (1,)
        dW2 += np.outer(a, d2)
        db2 += d2
        d1 = (W2 @ d2) * (1.0 - a**2)                 # (h,)
        dW1 += np.outer(x, d1)
        db1 += d1
    return [(dW1, db1), (dW2, db2)]
'''),
    Alternative("mlp_backward", "einsum, y as a column with y[:, None]", '''\
def mlp_backward(params, X, y):
    """Gradients of the mean binary cross-entropy of mlp_forward(params, X) against y."""
    (W1, b1), (W2, b2) = params
    z1 = X @ W1 + b1
    a1 = np.tanh(z1)
    p = sigmoid(a1 @ W2 + b2)
    delta2 = (p - y[:, None]) / X.shape[0]
    tanh_prime = 1.0 / np.cosh(z1) ** 2
    delta1 = np.einsum("nk,hk->nh", delta2, W2) * tanh_prime
    grads_1 = (np.einsum("nd,nh->dh", X, delta1), np.einsum("nh->h", delta1))
    grads_2 = (np.einsum("nh,nk->hk", a1, delta2), np.einsum("nk->k", delta2))
    return [grads_1, grads_2]
'''),
    Alternative("mlp_backward", "no p - y shortcut: dL/dp times sigmoid'(z2), tuples of tuples",
                _p("mlp_backward", (_DELTA2, "col = np.reshape(y, (n, 1))\n"
                                             "    dL_dp = (-(col / p) + (1 - col) / (1 - p)) / n\n"
                                             "    delta2 = dL_dp * p * (1 - p)"),
                   (_RETURN, "return ((dW1, db1), (dW2, db2))"))),
]


# ---------------------------------------------------------------------------- adam_step
# Pasted from lesson 08 (its check earns no points here; train_xor runs it).

_ADAM_STEP = [
    Mutant("adam_step", "epsilon inside the square root",
           _p("adam_step", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)")),
           r"epsilon is inside the square root"),
    Mutant("adam_step", "missing bias correction",
           _p("adam_step", ("m_hat = m / (1 - b1**t)", "m_hat = m"),
              ("v_hat = v / (1 - b2**t)", "v_hat = v")),
           r"bias correction is missing"),
    Mutant("adam_step", "t counted from 0 (correction uses t + 1)",
           _p("adam_step", ("m_hat = m / (1 - b1**t)", "m_hat = m / (1 - b1**(t + 1))"),
              ("v_hat = v / (1 - b2**t)", "v_hat = v / (1 - b2**(t + 1))")),
           r"t was treated as starting at 0"),
]

_ADAM_STEP_ALT = [
    Alternative("adam_step", "bias correction folded into the step size", '''\
def adam_step(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step for an array: returns (new params, new m, new v)."""
    m_new = b1 * m + (1 - b1) * grads
    v_new = b2 * v + (1 - b2) * np.square(grads)
    denominator = np.sqrt(v_new / (1 - b2**t)) + eps
    return params - (lr / (1 - b1**t)) * m_new / denominator, m_new, v_new
'''),
]


# ---------------------------------------------------------------------------- train_xor

_ADAM = "arrays[i], ms[i], vs[i] = adam_step(arrays[i], g, ms[i], vs[i], t, lr=lr)"

_TRAIN_XOR = [
    Mutant("train_xor", "sign flip: Adam fed minus the gradient (ascent)",
           _p("train_xor", (_ADAM, _ADAM.replace("arrays[i], g,", "arrays[i], -g,"))),
           r"(?s)misclassifies .* a gradient with the wrong sign"),
    Mutant("train_xor", "all weights initialised to zero (symmetric hidden units)",
           _p("train_xor", ("rng.normal(0.0, 1.0, (2, hidden))", "np.zeros((2, hidden))"),
              ("rng.normal(0.0, 1.0, (hidden, 1))", "np.zeros((hidden, 1))")),
           r"all-equal weights give identical hidden units"),
    Mutant("train_xor", "Adam's results thrown away: parameters never updated",
           _p("train_xor", (_ADAM, "_, ms[i], vs[i] = adam_step(arrays[i], g, ms[i], vs[i], "
                                   "t, lr=lr)")),
           r"parameters that are not updated"),
    Mutant("train_xor", "unseeded generator: default_rng() ignores seed",
           _p("train_xor", ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng()")),
           r"returned different parameters on two calls"),
    Mutant("train_xor", "seed ignored: default_rng(0) whatever the seed",
           _p("train_xor", ("rng = np.random.default_rng(seed)", "rng = np.random.default_rng(0)")),
           r"returned identical parameters: the seed must choose"),
    Mutant("train_xor", "far too few steps (10 instead of 300)",
           _p("train_xor", ("hidden, steps, lr = 8, 300, 0.05", "hidden, steps, lr = 8, 10, 0.05")),
           r"too few steps"),
    Mutant("train_xor", "Adam's t counted from 0 (bias correction divides by zero)",
           _p("train_xor", ("range(1, steps + 1)", "range(steps)")),
           r"nan or inf"),
    Mutant("train_xor", "no training at all (steps = 0)",
           _p("train_xor", ("hidden, steps, lr = 8, 300, 0.05", "hidden, steps, lr = 8, 0, 0.05")),
           r"misclassifies"),
    Mutant("train_xor", "W2 returned as a vector (h,) instead of a column (h, 1)",
           _p("train_xor", ("return [(arrays[0], arrays[1]), (arrays[2], arrays[3])]",
                            "return [(arrays[0], arrays[1]), (arrays[2][:, 0], arrays[3])]")),
           r"W2 of shape \(8,\).*\(8, 1\)"),
]

_TRAIN_XOR_ALT = [
    Alternative("train_xor", "params kept as [(W, b), ...], Adam states in matching lists", '''\
def train_xor(seed):
    """Train [(W1, b1), (W2, b2)] (W1 (2, 8), b1 (8,), W2 (8, 1), b2 (1,)) on XOR with Adam.

    Weights are drawn from np.random.default_rng(seed); 300 full-batch steps of adam_step
    (learning rate 0.05) on the gradients from mlp_backward. Returns the trained params.
    """
    rng = np.random.default_rng(seed)
    params = [(rng.normal(size=(2, 8)), np.zeros(8)), (rng.normal(size=(8, 1)), np.zeros(1))]
    m = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    v = [(np.zeros_like(W), np.zeros_like(b)) for W, b in params]
    for t in range(1, 301):
        grads = mlp_backward(params, XOR_X, XOR_Y)
        new_params, new_m, new_v = [], [], []
        for (W, b), (gW, gb), (mW, mb), (vW, vb) in zip(params, grads, m, v):
            W, mW, vW = adam_step(W, gW, mW, vW, t, lr=0.05)
            b, mb, vb = adam_step(b, gb, mb, vb, t, lr=0.05)
            new_params.append((W, b))
            new_m.append((mW, mb))
            new_v.append((vW, vb))
        params, m, v = new_params, new_m, new_v
    return params
'''),
    Alternative("train_xor", "a dict of named arrays, a while loop, 500 steps", '''\
def train_xor(seed):
    """Train [(W1, b1), (W2, b2)] (W1 (2, 8), b1 (8,), W2 (8, 1), b2 (1,)) on XOR with Adam.

    Weights are drawn from np.random.default_rng(seed); 300 full-batch steps of adam_step
    (learning rate 0.05) on the gradients from mlp_backward. Returns the trained params.
    """
    rng = np.random.default_rng(seed)
    names = ("W1", "b1", "W2", "b2")
    theta = {"W1": rng.normal(0.0, 1.0, (2, 8)), "b1": np.zeros(8),
             "W2": rng.normal(0.0, 1.0, (8, 1)), "b2": np.zeros(1)}
    m = {k: np.zeros_like(a) for k, a in theta.items()}
    v = {k: np.zeros_like(a) for k, a in theta.items()}
    step = 0
    while step < 500:
        step += 1
        (dW1, db1), (dW2, db2) = mlp_backward(
            [(theta["W1"], theta["b1"]), (theta["W2"], theta["b2"])], XOR_X, XOR_Y)
        for k, g in zip(names, (dW1, db1, dW2, db2)):
            theta[k], m[k], v[k] = adam_step(theta[k], g, m[k], v[k], step, lr=0.05)
    return [(theta["W1"], theta["b1"]), (theta["W2"], theta["b2"])]
'''),
    Alternative("train_xor", "another recipe: 5 hidden units, 600 steps, learning rate 0.03",
                _p("train_xor", ("hidden, steps, lr = 8, 300, 0.05",
                                 "hidden, steps, lr = 5, 600, 0.03"))),
]


MUTANTS = [*_MLP_FORWARD, *_MLP_BACKWARD, *_ADAM_STEP, *_TRAIN_XOR]
ALTERNATIVES = [*_MLP_FORWARD_ALT, *_MLP_BACKWARD_ALT, *_ADAM_STEP_ALT, *_TRAIN_XOR_ALT]
