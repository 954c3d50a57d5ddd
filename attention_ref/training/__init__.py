"""Training: backward passes, the Adam optimiser, the translation model of chapter 7 and its loop.

The model is :class:`Seq2Seq`: embeddings, the chapter-6 :class:`~attention_ref.Transformer` and a
linear map. Every layer differentiates itself (``backward`` after a call with a ``tape``);
:mod:`~attention_ref.training.backward` has the same gradients as checked functions.
"""

from .optim import Adam, adam_update
from .seq2seq import BOS, EOS, PAD, Seq2Seq, Seq2SeqConfig
from .train import greedy_decode, loss_and_grads, lr_schedule, train

__all__ = [
    "BOS",
    "EOS",
    "PAD",
    "Adam",
    "Seq2Seq",
    "Seq2SeqConfig",
    "adam_update",
    "greedy_decode",
    "loss_and_grads",
    "lr_schedule",
    "train",
]
