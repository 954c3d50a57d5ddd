r"""The Adam optimiser: a step size per weight, from running averages of the gradient and its square."""

from __future__ import annotations

import numbers
from collections.abc import MutableMapping

import numpy as np

from ._validation import as_array, check_finite

__all__ = ["Adam", "adam_update"]


def _adam_update(p, g, m, v, step, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g  # running mean of the gradient
    v = beta2 * v + (1 - beta2) * g * g  # running mean of its square
    m_hat = m / (1 - beta1**step)  # both start at 0: undo that bias
    v_hat = v / (1 - beta2**step)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adam_update(p, g, m, v, step: int, *, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                eps: float = 1e-8):
    r"""One Adam step for one weight array.

    Parameters
    ----------
    p : array_like
        The weight.
    g : array_like
        Its gradient (same shape).
    m, v : array_like
        The running means of ``g`` and ``g**2`` after the previous step (zeros before the first).
    step : int
        Number of this step, starting at 1.
    lr : float, optional
        Learning rate: roughly the largest change of any weight per step.
    beta1, beta2 : float, optional
        Decay rates of the two running means.
    eps : float, optional
        Keeps the division finite where ``v`` is 0.

    Returns
    -------
    p, m, v : ndarray
        The updated weight and running means (new arrays; the inputs are not changed).

    Notes
    -----
    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        p_t = p_{t-1} - \eta\,\frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

    Dividing by :math:`\sqrt{v}` makes the step size of each weight about :math:`\eta`, whatever
    the scale of its gradient. Matches ``torch.optim.Adam`` (without weight decay).

    References
    ----------
    .. [1] D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.optim import adam_update
    >>> p, m, v = adam_update(np.array([1.0, 1.0]), np.array([0.5, -20.0]), 0.0, 0.0, step=1, lr=0.1)
    >>> p.round(6)     # the first step moves every weight by lr, whatever its gradient's size
    array([0.9, 1.1])
    """
    p, g = as_array(p, "p"), as_array(g, "g")
    if g.shape != p.shape:
        msg = f"g has shape {g.shape} but must have the shape of p, {p.shape}"
        raise ValueError(msg)
    check_finite(g, "g")
    m, v = np.broadcast_to(as_array(m, "m"), p.shape), np.broadcast_to(as_array(v, "v"), p.shape)
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 1:
        msg = f"step must be an integer >= 1 (the first step is 1), got {step!r}"
        raise ValueError(msg)
    _check_hyper(lr, beta1, beta2, eps)
    return _adam_update(p, g, m, v, step, lr, beta1, beta2, eps)


def _check_hyper(lr, beta1, beta2, eps):
    if not lr > 0:
        msg = f"lr must be positive, got {lr}"
        raise ValueError(msg)
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            msg = f"{name} must be in [0, 1), got {beta}"
            raise ValueError(msg)
    if not eps > 0:
        msg = f"eps must be positive, got {eps}"
        raise ValueError(msg)


class Adam:
    """Adam over a dict of weights, updated in place (PyTorch's ``torch.optim.Adam``, no weight decay).

    Parameters
    ----------
    params : dict of str to ndarray
        The weights, e.g. a model's state dict. :meth:`step` replaces its values.
    lr : float, optional
        Learning rate; may be changed between steps (for a schedule).
    betas : (float, float), optional
    eps : float, optional

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.optim import Adam
    >>> params = {"w": np.array([3.0])}
    >>> opt = Adam(params, lr=0.5)
    >>> for _ in range(100):                      # minimise w**2: the gradient is 2 w
    ...     opt.step({"w": 2 * params["w"]})
    >>> bool(abs(params["w"][0]) < 0.1)
    True
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        if not isinstance(params, MutableMapping):
            msg = f"params must be a dict of arrays, got {type(params).__name__}"
            raise TypeError(msg)
        _check_hyper(lr, *betas, eps)
        self.params, self.lr, self.betas, self.eps = params, lr, tuple(betas), eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads) -> None:
        """Update every weight of ``params`` from ``grads`` (a dict with the same keys and shapes)."""
        if set(grads) != set(self.params):
            missing, extra = sorted(set(self.params) - set(grads)), sorted(set(grads) - set(self.params))
            msg = f"grads must have the keys of params; missing {missing}, extra {extra}"
            raise ValueError(msg)
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            g = grads[k]
            if g.shape != p.shape:
                msg = f"grads[{k!r}] has shape {g.shape} but params[{k!r}] has shape {p.shape}"
                raise ValueError(msg)
            check_finite(g, f"grads[{k!r}]")
            self.params[k], self.m[k], self.v[k] = _adam_update(p, g, self.m[k], self.v[k], self.t,
                                                                 self.lr, b1, b2, self.eps)
