"""Training: :func:`fit` and :func:`evaluate`, in one module per concern.

* :mod:`~fcnet.train.fit`: the public entry and the options;
* :mod:`~fcnet.train.targets`: features, targets, labels, weights, the validation rows;
* :mod:`~fcnet.train.loop`: the epochs and the step, one line of the math each;
* :mod:`~fcnet.train.batches`: where each batch starts and the gather of its rows;
* :mod:`~fcnet.train.grads`: the gradients as views of one flat buffer;
* :mod:`~fcnet.train.guard`: the divergence check (every step on the CPU, per epoch on a device);
* :mod:`~fcnet.train.fused_sgd`: plain SGD written by the product, with its finiteness bound;
* :mod:`~fcnet.train.checkpoint`: atomic checkpoints and bit-identical resume;
* :mod:`~fcnet.train.signals`: Ctrl-C and SIGTERM;
* :mod:`~fcnet.train.evaluate`: the loss and metrics of a model on data.
"""

from fcnet.train.evaluate import evaluate
from fcnet.train.fit import Trainer, fit
from fcnet.train.history import History, TrainingDiverged

__all__ = ["History", "Trainer", "TrainingDiverged", "evaluate", "fit"]
