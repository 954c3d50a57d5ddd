r"""The Adam optimiser: a step size per weight, from running averages of the gradient and its square."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence

import numpy as np

from .._validation import as_array, check_finite, check_int, check_real

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
    >>> from attention_ref.training import adam_update
    >>> p, m, v = adam_update(np.array([1.0, 1.0]), np.array([0.5, -20.0]), 0.0, 0.0, step=1, lr=0.1)
    >>> p.round(6)     # the first step moves every weight by lr, whatever its gradient's size
    array([0.9, 1.1])
    """
    p, g = as_array(p, "p"), as_array(g, "g")
    if g.shape != p.shape:
        msg = f"g has shape {g.shape} but must have the shape of p, {p.shape}"
        raise ValueError(msg)
    m, v = as_array(m, "m"), as_array(v, "v")
    for name, arr in (("m", m), ("v", v)):
        try:
            fits = np.broadcast_shapes(arr.shape, p.shape) == p.shape
        except ValueError:
            fits = False
        if not fits:
            msg = f"{name} has shape {arr.shape} but must have the shape of p, {p.shape} (or broadcast to it)"
            raise ValueError(msg)
    for name, arr in (("p", p), ("g", g), ("m", m), ("v", v)):
        check_finite(arr, name)
    if (v < 0).any():
        msg = "v must be non-negative: it is a running mean of squared gradients"
        raise ValueError(msg)
    step = check_int(step, "step", minimum=1, what="an integer >= 1 (the first step is 1)")
    _check_hyper(lr, beta1, beta2, eps)
    m, v = np.broadcast_to(m, p.shape), np.broadcast_to(v, p.shape)
    return _adam_update(p, g, m, v, int(step), lr, beta1, beta2, eps)


def _check_hyper(lr, beta1, beta2, eps, *, zero_lr=False):
    """The hyper-parameters: ``lr`` and ``eps`` positive and finite, the betas in [0, 1).

    With ``zero_lr``, ``lr`` may be 0 (where a schedule ends: ``Adam.lr`` is set between steps).
    """
    lr, beta1, beta2, eps = (check_real(x, n) for x, n in ((lr, "lr"), (beta1, "beta1"), (beta2, "beta2"),
                                                            (eps, "eps")))
    if not (0 <= lr if zero_lr else 0 < lr) or lr == np.inf:
        msg = f"lr must be {'non-negative' if zero_lr else 'positive'} and finite, got {lr}"
        raise ValueError(msg)
    for name, beta in (("beta1", beta1), ("beta2", beta2)):
        if not 0 <= beta < 1:
            msg = f"{name} must be in [0, 1), got {beta}"
            raise ValueError(msg)
    if not 0 < eps < np.inf:
        msg = f"eps must be positive and finite, got {eps}"
        raise ValueError(msg)


def _check_betas(betas):
    if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence):
        msg = f"betas must be a pair (beta1, beta2) of numbers, got {betas!r} of type {type(betas).__name__}"
        raise TypeError(msg)
    if len(betas) != 2:
        msg = f"betas must be a pair (beta1, beta2), got {len(betas)} values: {tuple(betas)}"
        raise ValueError(msg)
    return tuple(betas)


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
    >>> from attention_ref.training import Adam
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
        for k, p in params.items():
            check_finite(as_array(p, f"params[{k!r}]"), f"params[{k!r}]")
        betas = _check_betas(betas)
        _check_hyper(lr, *betas, eps)
        self.params, self.lr, self.betas, self.eps = params, lr, betas, eps
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}
        self.t = 0

    def step(self, grads) -> None:
        """Update every weight of ``params`` from ``grads`` (a dict with the same keys and shapes)."""
        if not isinstance(grads, Mapping):
            msg = f"grads must be a dict of arrays keyed like params, got {type(grads).__name__}"
            raise TypeError(msg)
        if set(grads) != set(self.params):
            missing, extra = sorted(set(self.params) - set(grads)), sorted(set(grads) - set(self.params))
            msg = f"grads must have the keys of params; missing {missing}, extra {extra}"
            raise ValueError(msg)
        _check_hyper(self.lr, *self.betas, self.eps, zero_lr=True)  # lr may have been set since (a schedule)
        checked = {}
        for k, p in self.params.items():  # every gradient checked before any weight changes
            g = as_array(grads[k], f"grads[{k!r}]")
            if g.shape != np.shape(p):
                msg = f"grads[{k!r}] has shape {g.shape} but params[{k!r}] has shape {np.shape(p)}"
                raise ValueError(msg)
            check_finite(g, f"grads[{k!r}]")
            checked[k] = g
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            g = checked[k]
            self.params[k], self.m[k], self.v[k] = _adam_update(p, g, self.m[k], self.v[k], self.t,
                                                                 self.lr, b1, b2, self.eps)
