"""Common mistakes and alternative right answers for 07-stochastic."""

from __future__ import annotations

from autograder.mutants import Alternative, Mutant, patcher

LESSON = "07-stochastic"

_p = patcher(LESSON)


# -------------------------------------------------------------------- minibatch_indices

_MB_RET = "return [perm[start:start + batch_size] for start in range(0, n, batch_size)]"

_MINIBATCH_INDICES = [
    Mutant("minibatch_indices", "last, shorter batch dropped: range(0, n - batch_size + 1, ...)",
           _p("minibatch_indices", ("range(0, n, batch_size)",
                                    "range(0, n - batch_size + 1, batch_size)")),
           r"last, shorter batch is missing"),
    Mutant("minibatch_indices", "off by one in the slice: perm[i:i + batch_size + 1]",
           _p("minibatch_indices", ("perm[start:start + batch_size]",
                                    "perm[start:start + batch_size + 1]")),
           r"overlap by one index"),
    Mutant("minibatch_indices", "off by one in the slice: perm[i:i + batch_size - 1]",
           _p("minibatch_indices", ("perm[start:start + batch_size]",
                                    "perm[start:start + batch_size - 1]")),
           r"one index short"),
    Mutant("minibatch_indices", "shuffled with the global np.random, not the rng given",
           _p("minibatch_indices",
              ("perm = rng.permutation(n)", "perm = np.random.permutation(n)")),
           r"`rng` you were given was not used"),
    Mutant("minibatch_indices", "no shuffle at all: np.arange(n)",
           _p("minibatch_indices", ("perm = rng.permutation(n)", "perm = np.arange(n)")),
           r"`rng` you were given was not used"),
    Mutant("minibatch_indices", "sampling with replacement: rng.integers(0, n, n)",
           _p("minibatch_indices", ("perm = rng.permutation(n)", "perm = rng.integers(0, n, n)")),
           r"sampling with replacement"),
    Mutant("minibatch_indices", "rng.choice(n, n, replace=False) instead of rng.permutation(n)",
           _p("minibatch_indices", ("perm = rng.permutation(n)",
                                    "perm = rng.choice(n, n, replace=False)")),
           r"not by rng.permutation\(n\)"),
    Mutant("minibatch_indices", "np.array_split into ceil(n / batch_size) nearly equal batches",
           _p("minibatch_indices", (_MB_RET, "return np.array_split(perm, -(-n // batch_size))")),
           r"np.array_split\(perm, k\) makes k nearly equal batches"),
    Mutant("minibatch_indices", "rng advanced twice (a second permutation drawn)",
           _p("minibatch_indices", ("perm = rng.permutation(n)",
                                    "perm = rng.permutation(n)\n    rng.permutation(n)")),
           r"`rng` was advanced differently"),
    Mutant("minibatch_indices", "a fresh generator np.random.default_rng(0), not the rng given",
           _p("minibatch_indices",
              ("perm = rng.permutation(n)", "perm = np.random.default_rng(0).permutation(n)")),
           r"`rng` you were given was not used"),
    Mutant("minibatch_indices", "shuffled by np.argsort(rng.random(n))",
           _p("minibatch_indices", ("perm = rng.permutation(n)",
                                    "perm = np.argsort(rng.random(n))")),
           r"not by rng.permutation\(n\)"),
    Mutant("minibatch_indices", "permutation drawn, then np.arange(n) sliced (not shuffled)",
           _p("minibatch_indices", ("perm = rng.permutation(n)",
                                    "rng.permutation(n)\n    perm = np.arange(n)")),
           r"not shuffled"),
    Mutant("minibatch_indices", "one 2-D array of shape (n, 1) instead of a list of batches",
           _p("minibatch_indices", (_MB_RET, "return perm.reshape(-1, 1)")),
           r"return a list"),
    Mutant("minibatch_indices", "float positions (perm / 2) instead of integer indices",
           _p("minibatch_indices", ("perm = rng.permutation(n)", "perm = rng.permutation(n) / 2")),
           r"integer indices"),
]

_MINIBATCH_INDICES_ALT = [
    Alternative("minibatch_indices", "while loop appending slices", '''\
def minibatch_indices(n, batch_size, rng):
    """Batches of one epoch: rng.permutation(n) cut into consecutive slices of batch_size."""
    order = rng.permutation(n)
    batches, start = [], 0
    while start < n:
        batches.append(order[start:start + batch_size])
        start += batch_size
    return batches
'''),
    Alternative("minibatch_indices", "np.split at the multiples of batch_size", '''\
def minibatch_indices(n, batch_size, rng):
    """Batches of one epoch: rng.permutation(n) cut into consecutive slices of batch_size."""
    perm = rng.permutation(n)
    return np.split(perm, np.arange(batch_size, n, batch_size))
'''),
    Alternative("minibatch_indices", "ceil(n / batch_size) batches by index arithmetic", '''\
def minibatch_indices(n, batch_size, rng):
    """Batches of one epoch: rng.permutation(n) cut into consecutive slices of batch_size."""
    import math

    perm = rng.permutation(np.arange(n))
    count = math.ceil(n / batch_size)
    return [perm[k * batch_size:min((k + 1) * batch_size, n)] for k in range(count)]
'''),
    Alternative("minibatch_indices", "rng.shuffle of np.arange(n) (the same draw), np.split",
                '''\
def minibatch_indices(n, batch_size, rng):
    """Batches of one epoch: rng.permutation(n) cut into consecutive slices of batch_size."""
    order = np.arange(n)
    rng.shuffle(order)
    return list(np.split(order, np.arange(batch_size, n, batch_size)))
'''),
    Alternative("minibatch_indices", "rng.permuted(np.arange(n)) (the same draw), while loop",
                '''\
def minibatch_indices(n, batch_size, rng):
    """Batches of one epoch: rng.permutation(n) cut into consecutive slices of batch_size."""
    perm, out, start = rng.permuted(np.arange(n)), [], 0
    while start < n:
        out.append(perm[start:min(start + batch_size, n)])
        start += batch_size
    return out
'''),
]


# ---------------------------------------------------------------------------------- sgd

_SGD_UPDATE = "params = params - lr * grad_fn(params, X[idx], y[idx])"

_SGD = [
    Mutant("sgd", "sign flip: params + lr * grad",
           _p("sgd", (_SGD_UPDATE, _SGD_UPDATE.replace("params - lr", "params + lr"))),
           r"sign is flipped"),
    Mutant("sgd", "rng created inside the epoch loop (every epoch the same shuffle)",
           _p("sgd", ("    rng = np.random.default_rng(seed)\n", ""),
              ("for _ in range(epochs):\n",
               "for _ in range(epochs):\n        rng = np.random.default_rng(seed)\n")),
           r"every epoch reused the first epoch's shuffle"),
    Mutant("sgd", "batches drawn once, before the epoch loop",
           _p("sgd", ("    for _ in range(epochs):\n        for idx in minibatch_indices(len(y), "
                      "batch_size, rng):\n",
                      "    batches = minibatch_indices(len(y), batch_size, rng)\n"
                      "    for _ in range(epochs):\n        for idx in batches:\n")),
           r"every epoch reused the first epoch's shuffle"),
    Mutant("sgd", "full-batch gradient descent (the whole data set every step)",
           _p("sgd", ("        for idx in minibatch_indices(len(y), batch_size, rng):\n"
                      "            params = params - lr * grad_fn(params, X[idx], y[idx])",
                      "        params = params - lr * grad_fn(params, X, y)")),
           r"full-batch gradient descent"),
    Mutant("sgd", "no shuffling: consecutive slices of the data in order",
           _p("sgd", ("minibatch_indices(len(y), batch_size, rng)",
                      "[np.arange(len(y))[i:i + batch_size] for i in range(0, len(y), "
                      "batch_size)]")),
           r"visited in their original order"),
    Mutant("sgd", "one epoch too few: range(epochs - 1)",
           _p("sgd", ("range(epochs)", "range(epochs - 1)")),
           r"you ran 2 epoch\(s\) instead of 3"),
    Mutant("sgd", "the caller's params updated in place (np.asarray, then params -= ...)",
           _p("sgd", ("params = np.array(params, dtype=float)",
                      "params = np.asarray(params, dtype=float)"),
              (_SGD_UPDATE, "params -= lr * grad_fn(params, X[idx], y[idx])")),
           r"modified its argument `params` in place"),
    Mutant("sgd", "a new generator every epoch, seeded seed + epoch",
           _p("sgd", ("    rng = np.random.default_rng(seed)\n", ""),
              ("for _ in range(epochs):\n",
               "for epoch in range(epochs):\n"
               "        rng = np.random.default_rng(seed + epoch)\n")),
           r"keep using the same generator for every epoch"),
    Mutant("sgd", "gradient divided by the batch size (mean taken twice)",
           _p("sgd", (_SGD_UPDATE, _SGD_UPDATE + " / len(idx)")),
           r"divided grad_fn's output by the batch size"),
    Mutant("sgd", "update not assigned: the initial params returned",
           _p("sgd", (_SGD_UPDATE, "new_params = params - lr * grad_fn(params, X[idx], y[idx])")),
           r"returned the initial params"),
    Mutant("sgd", "one epoch too many: range(epochs + 1)",
           _p("sgd", ("range(epochs)", "range(epochs + 1)")),
           r"epoch\(s\) instead of"),
    Mutant("sgd", "one example at a time: X[i] is a 1-D row, not a 2-D batch",
           _p("sgd", ("        for idx in minibatch_indices(len(y), batch_size, rng):\n"
                      "            " + _SGD_UPDATE,
                      "        for i in rng.permutation(len(y)):\n"
                      "            params = params - lr * grad_fn(params, X[i], y[i])")),
           r"2-D batch"),
]

_SGD_ALT = [
    Alternative("sgd", "shuffle and slice inline, params copied with astype", '''\
def sgd(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    """Mini-batch SGD: params <- params - lr * grad_fn(params, X[idx], y[idx]) per batch."""
    rng = np.random.default_rng(seed)
    n = len(y)
    w = np.asarray(params).astype(float)  # astype always returns a copy
    for epoch in range(epochs):
        perm = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            w -= lr * grad_fn(w, X[idx], y[idx])
    return w
'''),
    Alternative("sgd", "all batches listed first (one shuffle per epoch, in order)", '''\
def sgd(grad_fn, params, X, y, lr, batch_size, epochs, seed):
    """Mini-batch SGD: params <- params - lr * grad_fn(params, X[idx], y[idx]) per batch."""
    rng = np.random.default_rng(seed)
    schedule = [idx for _ in range(epochs)
                for idx in minibatch_indices(X.shape[0], batch_size, rng)]
    theta = np.copy(params).astype(np.float64)
    for idx in schedule:
        theta = theta - lr * np.asarray(grad_fn(theta, X[idx], y[idx]))
    return theta
'''),
]


# --------------------------------------------------------------------------- step_decay

_STEP_RET = "return lr0 * factor ** (step // every)"

_STEP_DECAY = [
    Mutant("step_decay", "continuous decay: step / every instead of step // every",
           _p("step_decay", (_STEP_RET, "return lr0 * factor ** (step / every)")),
           r"decay is continuous"),
    Mutant("step_decay", "first drop one step early: (step + 1) // every",
           _p("step_decay", (_STEP_RET, "return lr0 * factor ** ((step + 1) // every)")),
           r"first drop must come at step == every"),
    Mutant("step_decay", "starts at lr0 * factor: step // every + 1",
           _p("step_decay", (_STEP_RET, "return lr0 * factor ** (step // every + 1)")),
           r"starts at lr0"),
    Mutant("step_decay", "decays every step: factor ** step",
           _p("step_decay", (_STEP_RET, "return lr0 * factor ** step")),
           r"decayed every step"),
    Mutant("step_decay", "multiplied instead of raised: factor * (step // every)",
           _p("step_decay", (_STEP_RET, "return lr0 * factor * (step // every)")),
           r"multiplied by factor \* \(step // every\)"),
    Mutant("step_decay", "stateful schedule: multiplies a running rate at each drop",
           _p("step_decay", ("    def schedule(step):\n        " + _STEP_RET, """\
    lr = lr0

    def schedule(step):
        nonlocal lr
        if step > 0 and step % every == 0:
            lr = lr * factor
        return lr""")),
           r"pure function of `step`|decay is continuous|step_decay\(lr0, factor, every\)"
           r"\(step\) over steps .* is wrong"),
    Mutant("step_decay", "counts its own calls instead of using `step`",
           _p("step_decay", ("    def schedule(step):\n        " + _STEP_RET, """\
    calls = [0]

    def schedule(step):
        calls[0] += 1
        return lr0 * factor ** ((calls[0] - 1) // every)""")),
           r"pure function of `step`"),
    Mutant("step_decay", "returned the number lr0 instead of a schedule function",
           _p("step_decay", ("    return schedule\n", "    return lr0\n")),
           r"must return a function"),
    Mutant("step_decay", "the schedule returns a 1-element array",
           _p("step_decay", (_STEP_RET, "return np.array([lr0 * factor ** (step // every)])")),
           r"a float"),
]

_STEP_DECAY_ALT = [
    Alternative("step_decay", "a lambda with math.floor", '''\
def step_decay(lr0, factor, every):
    """Return schedule(step) = lr0 * factor ** (step // every)."""
    import math

    return lambda step: lr0 * factor ** math.floor(step / every)
'''),
    Alternative("step_decay", "a callable class", '''\
def step_decay(lr0, factor, every):
    """Return schedule(step) = lr0 * factor ** (step // every)."""

    class StepDecay:
        def __call__(self, step):
            drops = step // every
            return float(lr0 * factor**drops)

    return StepDecay()
'''),
    Alternative("step_decay", "functools.partial of a module-level helper", '''\
def _step_decay_rate(step, lr0, factor, every):
    return lr0 * pow(factor, int(step) // int(every))


def step_decay(lr0, factor, every):
    """Return schedule(step) = lr0 * factor ** (step // every)."""
    from functools import partial

    return partial(_step_decay_rate, lr0=lr0, factor=factor, every=every)
'''),
    Alternative("step_decay", "a loop multiplying by factor once per completed period", '''\
def step_decay(lr0, factor, every):
    """Return schedule(step) = lr0 * factor ** (step // every)."""
    import math

    def schedule(step):
        lr = lr0
        for _ in range(math.floor(step / every)):
            lr *= factor
        return lr

    return schedule
'''),
]


# ------------------------------------------------------------------------ triangular_lr

_TRI_CYCLE = "cycle = np.floor(1 + step / (2 * step_size))"
_TRI_RET = "return float(base_lr + (max_lr - base_lr) * max(0.0, 1 - x))"

_TRIANGULAR_LR = [
    Mutant("triangular_lr", "the 1 + forgotten in cycle = floor(1 + step / (2 step_size))",
           _p("triangular_lr", (_TRI_CYCLE, "cycle = np.floor(step / (2 * step_size))")),
           r"never leaves base_lr"),
    Mutant("triangular_lr", "upside down: max(0, x) instead of max(0, 1 - x)",
           _p("triangular_lr", (_TRI_RET, _TRI_RET.replace("max(0.0, 1 - x)", "max(0.0, x)"))),
           r"upside down"),
    Mutant("triangular_lr", "base_lr not added",
           _p("triangular_lr", (_TRI_RET, _TRI_RET.replace("base_lr + (", "("))),
           r"base_lr is missing"),
    Mutant("triangular_lr", "amplitude max_lr instead of max_lr - base_lr",
           _p("triangular_lr", (_TRI_RET, _TRI_RET.replace("(max_lr - base_lr)", "max_lr"))),
           r"amplitude is max_lr - base_lr"),
    Mutant("triangular_lr", "a cycle of step_size steps instead of 2 step_size",
           _p("triangular_lr", (_TRI_CYCLE, "cycle = np.floor(1 + 2 * step / (2 * step_size))"),
              ("x = abs(step / step_size - 2 * cycle + 1)",
               "x = abs(2 * step / step_size - 2 * cycle + 1)")),
           r"period is twice too short"),
    Mutant("triangular_lr", "abs forgotten in x = abs(step / step_size - 2 cycle + 1)",
           _p("triangular_lr", ("x = abs(step / step_size - 2 * cycle + 1)",
                                "x = step / step_size - 2 * cycle + 1")),
           r"the abs is missing"),
    Mutant("triangular_lr", "sawtooth: rises over step_size, then jumps back",
           _p("triangular_lr", (_TRI_RET, "return float(base_lr + (max_lr - base_lr) * "
                                          "(step % step_size) / step_size)")),
           r"sawtooth"),
    Mutant("triangular_lr", "a cycle of 4 step_size steps (step_size doubled)",
           _p("triangular_lr", ("    def schedule(step):\n",
                                "    step_size = 2 * step_size\n\n    def schedule(step):\n")),
           r"twice too long"),
]

_TRIANGULAR_LR_ALT = [
    Alternative("triangular_lr", "position in the cycle, rising then falling branch", '''\
def triangular_lr(base_lr, max_lr, step_size):
    """Return schedule(step) following Smith's (2015) triangular cyclic policy."""

    def schedule(step):
        position = step % (2 * step_size)
        if position <= step_size:
            fraction = position / step_size
        else:
            fraction = (2 * step_size - position) / step_size
        return base_lr + (max_lr - base_lr) * fraction

    return schedule
'''),
    Alternative("triangular_lr", "1 - |t / s - 1| on t = step mod 2s, with math only", '''\
def triangular_lr(base_lr, max_lr, step_size):
    """Return schedule(step) following Smith's (2015) triangular cyclic policy."""
    import math

    def schedule(step):
        t = math.fmod(step, 2 * step_size)
        return base_lr + (max_lr - base_lr) * (1.0 - abs(t / step_size - 1.0))

    return schedule
'''),
    Alternative("triangular_lr", "Smith's formula with math.floor in a lambda", '''\
def triangular_lr(base_lr, max_lr, step_size):
    """Return schedule(step) following Smith's (2015) triangular cyclic policy."""
    import math

    def x(step):
        cycle = math.floor(1 + step / (2 * step_size))
        return abs(step / step_size - 2 * cycle + 1)

    return lambda step: base_lr + (max_lr - base_lr) * max(0, 1 - x(step))
'''),
]


# ----------------------------------------------------------------------- ReduceOnPlateau

_IMPROVED = "if loss < self.best * (1 - self.threshold):"
_RESET = "self.lr *= self.factor\n            self.num_bad_epochs = 0"

_REDUCE_ON_PLATEAU = [
    Mutant("reduce_on_plateau", "absolute threshold: loss < best - threshold",
           _p("reduce_on_plateau", (_IMPROVED, "if loss < self.best - self.threshold:")),
           r"absolute threshold"),
    Mutant("reduce_on_plateau", "reduced at num_bad_epochs >= patience (one epoch early)",
           _p("reduce_on_plateau", ("if self.num_bad_epochs > self.patience:",
                                    "if self.num_bad_epochs >= self.patience:")),
           r"num_bad_epochs == patience"),
    Mutant("reduce_on_plateau", "bad-epoch counter not reset after a reduction",
           _p("reduce_on_plateau", (_RESET, "self.lr *= self.factor")),
           r"counter is not reset after a reduction"),
    Mutant("reduce_on_plateau", "ties count as improvement: <= instead of <",
           _p("reduce_on_plateau", (_IMPROVED, _IMPROVED.replace("<", "<="))),
           r"equal to the best counted as an improvement"),
    Mutant("reduce_on_plateau", "compared with the previous loss, not the best",
           _p("reduce_on_plateau", ("            self.num_bad_epochs += 1\n",
                                    "            self.num_bad_epochs += 1\n"
                                    "            self.best = loss\n")),
           r"compared each loss with the previous loss"),
    Mutant("reduce_on_plateau", "returned the learning rate from before the step",
           _p("reduce_on_plateau", (_IMPROVED, "lr = self.lr\n        " + _IMPROVED),
              ("        return self.lr\n", "        return lr\n")),
           r"returned the learning rate from before processing the loss"),
    Mutant("reduce_on_plateau", "best initialised to 0 instead of +inf",
           _p("reduce_on_plateau", ('self.best = float("inf")', "self.best = 0.0")),
           r"best started at 0"),
    Mutant("reduce_on_plateau", "state kept in class attributes shared by all instances",
           _p("reduce_on_plateau",
              ("    def __init__(self,", "    best = float('inf')\n    num_bad_epochs = 0\n\n"
                                          "    def __init__(self,"),
              ("        self.best = float(\"inf\")\n        self.num_bad_epochs = 0\n", ""),
              ("            self.best = loss\n            self.num_bad_epochs = 0\n",
               "            ReduceOnPlateau.best = loss\n"
               "            ReduceOnPlateau.num_bad_epochs = 0\n"),
              ("            self.num_bad_epochs += 1\n",
               "            ReduceOnPlateau.num_bad_epochs += 1\n"),
              (_RESET, "self.lr *= self.factor\n            ReduceOnPlateau.num_bad_epochs = 0")),
           r"changed the class attribute\(s\)"),
]

_REDUCE_ON_PLATEAU_ALT = [
    Alternative("reduce_on_plateau", "best starts as None; improvement in a helper method", '''\
class ReduceOnPlateau:
    """Cut the learning rate by `factor` after more than `patience` epochs without improvement."""

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4):
        self.lr = lr
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.best = None
        self.bad = 0

    def _improves(self, loss):
        return self.best is None or loss < self.best * (1 - self.threshold)

    def step(self, loss):
        """Process one loss (e.g. an epoch's validation loss); return the learning rate."""
        if self._improves(loss):
            self.best, self.bad = loss, 0
            return self.lr
        self.bad += 1
        if self.bad == self.patience + 1:
            self.lr = self.lr * self.factor
            self.bad = 0
        return self.lr
'''),
    Alternative("reduce_on_plateau", "the first loss initialises best (no +inf sentinel)",
                _p("reduce_on_plateau",
                        ('self.best = float("inf")', "self.best = None"),
                        ("        if loss < self.best * (1 - self.threshold):",
                         "        if self.best is None:\n"
                         "            self.best = loss\n"
                         "            return self.lr\n"
                         "        if loss < self.best * (1 - self.threshold):"))),
    Alternative("reduce_on_plateau", "__slots__, math.inf, a patience budget counted down",
                '''\
import math


class ReduceOnPlateau:
    """Cut the learning rate by `factor` after more than `patience` epochs without improvement."""

    __slots__ = ("lr", "factor", "patience", "threshold", "best", "budget")

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4):
        self.lr, self.factor = lr, factor
        self.patience, self.threshold = patience, threshold
        self.best = math.inf
        self.budget = patience  # bad epochs still tolerated before a cut

    def step(self, loss):
        """Process one loss (e.g. an epoch's validation loss); return the learning rate."""
        if loss < self.best * (1 - self.threshold):
            self.best = loss
            self.budget = self.patience
        elif self.budget == 0:
            self.lr = self.lr * self.factor
            self.budget = self.patience
        else:
            self.budget -= 1
        return float(self.lr)
'''),
]


MUTANTS = [*_MINIBATCH_INDICES, *_SGD, *_STEP_DECAY, *_TRIANGULAR_LR, *_REDUCE_ON_PLATEAU]
ALTERNATIVES = [*_MINIBATCH_INDICES_ALT, *_SGD_ALT, *_STEP_DECAY_ALT, *_TRIANGULAR_LR_ALT,
                *_REDUCE_ON_PLATEAU_ALT]
