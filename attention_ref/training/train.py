"""Training the translation model: the loss and its gradients, the learning-rate schedule, the loop, decoding.

A training step is the model's forward with a tape, its backward, and an Adam update of its state
dict, which the model then loads: one model, one key layout (nanoGPT keeps the loop apart from the
model in the same way).

Axis letters: ``B`` batch, ``Ls`` source length, ``Lt`` target length, ``V`` vocabulary size.
"""

from __future__ import annotations

import time

import numpy as np

from .. import _grad
from .._validation import check_int, check_positive_int, check_real
from .optim import Adam
from .seq2seq import BOS, EOS, PAD, Seq2Seq, check_ids

__all__ = ["greedy_decode", "loss_and_grads", "lr_schedule", "train"]


def _check_model(model):
    if not isinstance(model, Seq2Seq):
        msg = f"model must be a Seq2Seq, got {type(model).__name__}"
        raise TypeError(msg)


def _check_batch(model, src, tgt_in, tgt_out):
    cfg = model.cfg
    src = check_ids(src, "src", cfg.src_vocab)
    tgt_in = check_ids(tgt_in, "tgt_in", cfg.tgt_vocab)
    tgt_out = check_ids(tgt_out, "tgt_out", cfg.tgt_vocab)
    if tgt_out.shape != tgt_in.shape or src.shape[0] != tgt_in.shape[0]:
        msg = (
            f"src {src.shape}, tgt_in {tgt_in.shape} and tgt_out {tgt_out.shape} need one "
            "batch size and tgt_out shaped like tgt_in"
        )
        raise ValueError(msg)
    if (src[:, 0] == PAD).any():
        msg = "src has a sentence that starts with padding (id 0); pad on the right of non-empty sentences"
        raise ValueError(msg)
    if not (tgt_out != PAD).any():
        msg = "tgt_out is all padding: there is nothing to learn"
        raise ValueError(msg)
    return src, tgt_in, tgt_out


def _loss_and_grads(model, src, tgt_in, tgt_out):
    tape = {}
    logits = model(src, tgt_in, tape=tape)  # (B, Lt, V), with what the backward needs on the tape
    loss = _grad.cross_entropy(logits, tgt_out, PAD)
    return loss, model.backward(_grad.cross_entropy_backward(logits, tgt_out, PAD), tape)


def loss_and_grads(model, src, tgt_in, tgt_out):
    """The loss on one batch and its gradient with respect to every parameter.

    Parameters
    ----------
    model : Seq2Seq
    src : (B, Ls) array_like of int
        Source ids, padded with 0.
    tgt_in : (B, Lt) array_like of int
        ``<bos>`` + target ids (the decoder's input: "teacher forcing").
    tgt_out : (B, Lt) array_like of int
        Target ids + ``<eos>``, i.e. ``tgt_in`` shifted left by one: the word each position must predict.
        Padding (0) is left out of the loss.

    Returns
    -------
    loss : float
        Mean cross-entropy over the non-padding positions of ``tgt_out``.
    grads : dict of str to ndarray
        Same keys and shapes as ``model.state_dict()``.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.training import Seq2Seq, Seq2SeqConfig, loss_and_grads
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2), seed=0)
    >>> src = np.array([[3, 4, 5], [5, 3, 0]])
    >>> tgt_in, tgt_out = np.array([[1, 4, 3], [1, 6, 0]]), np.array([[4, 3, 2], [6, 2, 0]])
    >>> loss, grads = loss_and_grads(model, src, tgt_in, tgt_out)
    >>> bool(abs(loss - np.log(7)) < 0.5)    # about log(V): no word preferred yet
    True
    >>> grads.keys() == model.state_dict().keys()
    True
    """
    _check_model(model)
    return _loss_and_grads(model, *_check_batch(model, src, tgt_in, tgt_out))


def lr_schedule(step: int, *, steps: int, lr: float, warmup: int) -> float:
    """Learning rate of step ``step`` (1-based): a linear warm-up, then a half cosine down to 0.

    Parameters
    ----------
    step : int
        The step, from 1 to ``steps``.
    steps : int
        Number of steps in all.
    lr : float
        Peak learning rate, reached at ``step == warmup``.
    warmup : int
        Length of the warm-up. A post-norm Transformer trained at full rate from the first step can
        diverge: Adam's first steps are large while its running averages are still noisy.

    Returns
    -------
    float

    Examples
    --------
    >>> from attention_ref.training import lr_schedule
    >>> [round(lr_schedule(s, steps=10, lr=1.0, warmup=2), 3) for s in range(1, 11)]
    [0.5, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038, 0.0]
    """
    steps = check_positive_int(steps, "steps")
    step = check_int(step, "step")
    if not 1 <= step <= steps:
        msg = f"step must be an integer from 1 to steps = {steps}, got {step!r}"
        raise ValueError(msg)
    warmup = check_int(warmup, "warmup", minimum=0, what="a non-negative integer")
    lr = check_real(lr, "lr", positive=True)
    if step <= warmup:
        return lr * step / warmup
    return float(lr * 0.5 * (1 + np.cos(np.pi * (step - warmup) / (steps - warmup))))


def train(model, src, tgt_in, tgt_out, *, steps: int = 300, lr: float = 3e-3, warmup: int = 50, callback=None):
    """Train on one batch (the whole training set) with Adam; the model's parameters are updated.

    Each step is the forward with a tape, the backward, an Adam step on the state dict, and
    ``model.load_state_dict`` of the result.

    Parameters
    ----------
    model : Seq2Seq
        The model to train (from ``Seq2Seq(cfg, seed=...)``).
    src, tgt_in, tgt_out : (B, Ls), (B, Lt), (B, Lt) array_like of int
        As in :func:`loss_and_grads`.
    steps : int, optional
        Number of Adam steps.
    lr : float, optional
        Peak learning rate.
    warmup : int, optional
        The learning rate rises linearly from 0 to ``lr`` over this many steps (post-norm
        Transformers need it), then decays to 0 along a half cosine.
    callback : callable, optional
        Called as ``callback(step, loss)`` after each step.

    Returns
    -------
    dict
        ``"loss"``: list of the loss before each step; ``"seconds"``: wall time of the loop.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.training import Seq2Seq, Seq2SeqConfig, train
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2), seed=0)
    >>> src = np.array([[3, 4, 5], [5, 3, 0]])
    >>> tgt_in, tgt_out = np.array([[1, 4, 3], [1, 6, 0]]), np.array([[4, 3, 2], [6, 2, 0]])
    >>> hist = train(model, src, tgt_in, tgt_out, steps=60, lr=1e-2, warmup=10)
    >>> bool(hist["loss"][-1] < 0.1 * hist["loss"][0])
    True
    """
    _check_model(model)
    src, tgt_in, tgt_out = _check_batch(model, src, tgt_in, tgt_out)
    steps = check_positive_int(steps, "steps")
    lr_schedule(1, steps=steps, lr=lr, warmup=warmup)  # checks lr and warmup
    if callback is not None and not callable(callback):
        msg = f"callback must be callable, got {type(callback).__name__}"
        raise TypeError(msg)
    params = model.state_dict()
    opt = Adam(params, lr=lr, betas=(0.9, 0.98), eps=1e-9)  # the paper's betas and eps
    losses = []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss, grads = _loss_and_grads(model, src, tgt_in, tgt_out)
        opt.lr = lr_schedule(step, steps=steps, lr=lr, warmup=warmup)
        opt.step(grads)  # updates params, the state dict
        model.load_state_dict(params)
        losses.append(loss)
        if callback is not None:
            callback(step, loss)
    return {"loss": losses, "seconds": time.perf_counter() - start}


def greedy_decode(model, src, max_len: int = 10) -> np.ndarray:
    """Translate by repeatedly appending the most likely next word until ``<eos>``.

    Parameters
    ----------
    model : Seq2Seq
    src : (B, Ls) array_like of int
    max_len : int, optional
        Longest output (without ``<bos>``).

    Returns
    -------
    (B, Lt) ndarray of int
        ``<bos>`` followed by the chosen ids; each row ends at its first ``<eos>`` (later ids are
        padding). Give ``out[:, :-1]`` to the model with a ``tape`` to see the attention that
        produced it.

    Examples
    --------
    >>> import numpy as np
    >>> from attention_ref.training import Seq2Seq, Seq2SeqConfig, greedy_decode
    >>> model = Seq2Seq(Seq2SeqConfig(src_vocab=6, tgt_vocab=7, d_model=8, n_heads=2), seed=0)
    >>> out = greedy_decode(model, np.array([[3, 4, 5]]), max_len=4)
    >>> out.shape[0], int(out[0, 0])     # untrained: some words, but it starts with <bos>
    (1, 1)
    """
    _check_model(model)
    src = check_ids(src, "src", model.cfg.src_vocab)
    max_len = check_positive_int(max_len, "max_len")
    memory, src_mask = model.encode(src)  # (B, Ls, d_model), (B, 1, 1, Ls)
    out = np.full((src.shape[0], 1), BOS)  # (B, 1)
    done = np.zeros(src.shape[0], dtype=bool)
    for _ in range(max_len):
        logits = model.decode(out, memory, src_mask)  # (B, t, V)
        nxt = np.where(done, PAD, logits[:, -1].argmax(axis=-1))  # (B,)
        out = np.concatenate([out, nxt[:, None]], axis=1)
        done |= nxt == EOS
        if done.all():
            break
    return out
