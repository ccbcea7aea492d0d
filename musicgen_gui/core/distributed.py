"""Training on several machines: the cluster from TF_CONFIG, the strategy, and an optimizer
whose gradient clipping holds across workers (training.train uses them; one machine too)."""

from __future__ import annotations

import json
import os

from .errors import MusicgenError
from .model import TrainingConfig


def read_tf_config() -> tuple[int, int]:
    """(number of workers, this worker's index) from TF_CONFIG, or a message saying what is wrong."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise MusicgenError("a distributed run needs TF_CONFIG on every worker, naming all workers and this one's "
                            "index (see docs/TRAINING.md)")
    try:
        config = json.loads(text)
        workers, task = config["cluster"]["worker"], config["task"]
        index = task["index"]
        valid = (isinstance(workers, list) and workers and all(isinstance(w, str) and ":" in w for w in workers)
                 and set(config["cluster"]) == {"worker"} and task.get("type") == "worker"
                 and isinstance(index, int) and 0 <= index < len(workers))
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise MusicgenError('TF_CONFIG must look like {"cluster": {"worker": ["host1:port", "host2:port"]}, '
                            '"task": {"type": "worker", "index": 0}}, with this worker\'s index in the list')
    return len(workers), index


def multi_worker_strategy():
    import tensorflow as tf

    class Strategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            # Keras 3's fit() with more than one worker (keras-team/keras#20585) asks to reduce
            # a whole (x, y) batch at once, and scalar logs along axis 0, both of which this
            # strategy refuses: one part at a time, and scalars whole.
            def one(v):
                scalar = self.experimental_local_results(v)[0].shape.rank == 0
                return super(Strategy, self).reduce(reduce_op, v, None if scalar else axis)

            return tf.nest.map_structure(one, value)

    return Strategy()


def optimizer(tcfg: TrainingConfig):
    import keras
    import tensorflow as tf

    base = keras.optimizers.Adadelta if tcfg.optimizer == "adadelta" else keras.optimizers.Adam

    class Optimizer(base):
        def _clip_gradients(self, grads):
            # Keras clips each worker's part of the gradient before the parts are summed
            # across workers; clip the sum, as one worker would. Every worker then holds
            # sum/n, and the parts' sum that Keras forms next is the clipped sum.
            context = tf.distribute.get_replica_context()
            n = context.num_replicas_in_sync if context is not None else 1
            if n == 1 or not self.clipnorm:
                return super()._clip_gradients(grads)
            return [g / n for g in super()._clip_gradients(context.all_reduce("sum", grads))]

    return Optimizer(learning_rate=tcfg.learning_rate, clipnorm=tcfg.clipnorm)
