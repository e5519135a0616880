"""Independent reference derivatives computed with JAX in float64.

Every checker compares a student's answer with these, never with the reference
solution's own code. Importing this module switches on ``jax_enable_x64`` so that
the oracle is accurate to about 1e-16 relative error.
"""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

__all__ = ["gradient", "hessian", "jacobian", "jax", "jnp", "to_numpy"]


def to_numpy(value) -> np.ndarray:
    """Convert a JAX (or any array-like) value to a float64 numpy array."""
    return np.asarray(value, dtype=np.float64)


def gradient(f: Callable, x) -> np.ndarray:
    r"""The gradient :math:`\nabla f(x)` of a scalar function by reverse mode."""
    return to_numpy(jax.grad(f)(jnp.asarray(x, dtype=jnp.float64)))


def jacobian(f: Callable, x) -> np.ndarray:
    r"""The Jacobian :math:`J_{ij} = \partial f_i / \partial x_j`, shape (m, n)."""
    return to_numpy(jax.jacfwd(f)(jnp.asarray(x, dtype=jnp.float64)))


def hessian(f: Callable, x) -> np.ndarray:
    r"""The Hessian :math:`H_{ij} = \partial^2 f / \partial x_i \partial x_j`."""
    return to_numpy(jax.hessian(f)(jnp.asarray(x, dtype=jnp.float64)))
