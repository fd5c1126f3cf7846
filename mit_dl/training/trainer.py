"""`Trainer`: a compiled GradientTape loop with checkpoints, resume and tf.distribute.

One engine for every lab (docs/design.md, section 4). The default step is the
lecture's training loop,

    with tf.GradientTape() as tape:
        loss = L(y, f(x; W))
    W <- optimizer(W, dL/dW)

compiled with ``tf.function`` (the batch is pulled from the iterator inside
the compiled function, so batches of different sizes never retrace). A model
whose loss is not a function of its outputs alone (a VAE's, a detector's,
an uncertainty wrapper's) states its per-example losses in
``training_losses(inputs, targets)`` and the same engine step
(`losses_step`) trains it. Only models with several optimizers or their own
iteration (the GANs, the RL agents) and PGD adversarial training pass their
own ``train_step`` and reuse the loop, callbacks, checkpoints and
distribution.
"""

import contextlib
import dataclasses
import json
import pathlib
import signal
import sys
import threading
import time

import keras
import tensorflow as tf

from mit_dl import progress as progress_lib
from mit_dl.errors import RunPastBudget, TrainingInterrupted
from mit_dl.training import callbacks as callbacks_lib
from mit_dl.training import checkpoints, checks
from mit_dl.training import history as history_io
from mit_dl.training.precision import with_loss_scaling


def states_losses(model):
    """Whether ``model`` states its own per-example losses: ``model.training_losses(inputs, targets)``.

    Args:
        model: any model.

    Returns:
        True when the engine's `losses_step` trains it.
    """
    return callable(getattr(model, "training_losses", None))


def losses_step(model, batch):
    """One step of a model that states its own losses: the engine's tape, averaging, loss scaling and update.

    ``model.training_losses(inputs, targets)`` returns ``(per_example [N], parts)``: the losses are summed
    and divided by the *global* batch (`tf.nn.compute_average_loss`, so replicas of a ``tf.distribute``
    strategy add up to one device's gradient), the layers' own losses (``model.losses``: the KL terms of
    Bayes by Backprop) are added, and under ``mixed_float16`` the loss is scaled inside the tape.

    Args:
        model: a compiled Keras model with ``training_losses``.
        batch: ``(inputs, targets)``.

    Returns:
        ``{"loss": mean loss plus the layers' own, **{part: its mean}}`` of this replica.
    """
    inputs, targets = batch[0], batch[1]
    optimizer = model.optimizer
    with tf.GradientTape() as tape:
        per_example, parts = model.training_losses(inputs, targets)
        loss = tf.nn.compute_average_loss(per_example)
        extra = model.losses
        if extra:
            loss += tf.nn.scale_regularization_loss(tf.add_n([tf.cast(t, tf.float32) for t in extra]))
        scaled = optimizer.scale_loss(loss)  # inside the tape: loss scaling is a recorded multiply
    gradients = tape.gradient(scaled, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    logs = {"loss": tf.reduce_mean(per_example)}
    if extra:  # the objective: the data term and the layers' own terms
        logs["loss"] += tf.add_n([tf.cast(t, tf.float32) for t in extra])
    logs.update({name: tf.reduce_mean(value) for name, value in parts.items()})
    return logs


def owns_train_step(model):
    """Whether ``model`` is a Keras model subclass that defines its own ``train_step``.

    Args:
        model: any model.

    Returns:
        True when its class overrides `keras.Model.train_step` (its loss, metrics and update).
    """
    return isinstance(model, keras.Model) and type(model).train_step is not keras.Model.train_step


def _warn(message):
    """A message about the run's files that is shown whatever the verbosity."""
    print(message, file=sys.stderr, flush=True)


class PartialEpoch(tf.train.experimental.PythonState):
    """The step-weighted sums of the logs of the epoch in progress, saved in checkpoints as JSON."""

    def __init__(self):
        self.clear()

    def clear(self):
        """Start a new epoch."""
        self.sums, self.count = {}, 0

    def add(self, logs, steps):
        """Add the logs of one compiled call.

        Args:
            logs: ``{name: mean over the call's steps}``.
            steps: the steps the call ran.
        """
        for k, v in logs.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * steps
        self.count += steps

    def means(self):
        """The epoch's mean logs so far.

        Returns:
            ``{name: mean over the epoch's steps}``.
        """
        return {k: v / self.count for k, v in self.sums.items()}

    def serialize(self):
        """The sums as the checkpoint stores them.

        Returns:
            JSON text (Python floats round-trip exactly).
        """
        return json.dumps({"sums": self.sums, "count": self.count})

    def deserialize(self, string_value):
        """Take the sums back from a checkpoint.

        Args:
            string_value: what `serialize` returned.
        """
        saved = json.loads(string_value)
        self.sums, self.count = saved["sums"], saved["count"]


class _TickerBar:
    """A `progress.Ticker` behind the ``update(done, [(name, value)])`` of Keras' progress bar."""

    def __init__(self, ticker):
        self.ticker = ticker

    def update(self, done, values):
        self.ticker.update(done, dict(values))


@dataclasses.dataclass
class _Plan:
    """What one `Trainer.fit` call loops over."""

    train_fn: object
    iterator: object
    total: int
    steps_per_epoch: int
    validation_data: object
    validation_name: str
    callbacks: list
    writer: object
    manager: object
    interrupted: list


@contextlib.contextmanager
def interrupt_signals():
    """Record SIGINT and SIGTERM instead of stopping at once, while the ``with`` block runs.

    Outside the main thread (where Python cannot set handlers) nothing changes.

    Yields:
        The list of the names of the signals received so far (``"SIGINT"``, ``"SIGTERM"``).
    """
    received = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = {}

    def record(number, frame):
        received.append(signal.Signals(number).name)

    for number in (signal.SIGINT, signal.SIGTERM):
        previous[number] = signal.signal(number, record)
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class Trainer:
    """Train a Keras model with a compiled GradientTape step.

    Args:
        model: a Keras model (created under ``strategy.scope()`` when a
            strategy is given). Under the ``mixed_float16`` policy the default
            step wraps the optimizer in ``keras.optimizers.LossScaleOptimizer``.
            A model compiled with its optimizer (``model.compile(optimizer,
            loss)``) brings its own: a model that defines
            ``training_losses(inputs, targets) -> (per_example, parts)``
            trains with `losses_step`, a model subclass that defines
            ``train_step(batch) -> {name: scalar}`` with that step (the GANs:
            two optimizers), any other with the default step on the compiled
            loss.
        optimizer: a Keras optimizer, or a dict ``name -> optimizer`` when a
            custom ``train_step`` uses several (all are checkpointed);
            ``None``: the compiled model's.
        loss: Keras loss (name, function or ``keras.losses.Loss``) for the
            default step; per-example losses are averaged over the global
            batch, so every replica count gives the same gradients.
            ``None``: the compiled model's.
        metrics: names (``"accuracy"``) or functions ``(y_true, y_pred)``
            returning one value per example, averaged over each epoch.
        train_step: optional ``step(batch) -> {name: scalar}`` replacing the
            default step; it computes its own gradients and applies them.
        strategy: a ``tf.distribute.Strategy`` (Mirrored, MultiWorkerMirrored,
            TPU); default: the current one (a single device).
        checkpoint_dir: where ``tf.train.CheckpointManager`` keeps model,
            optimizer(s), step counter, RNG state and the data iterator. If it
            holds a checkpoint, ``fit`` resumes from it. With a custom
            ``train_step``, build each optimizer first
            (``optimizer.build(variables)``) so its slots are restored.
        checkpoint_every: also save every this many steps (default: at the
            end of every epoch only).
        max_checkpoints: checkpoints kept.
        log_dir: write ``tf.summary`` scalars (TensorBoard) and
            ``history.json`` here; the history is also kept beside the
            checkpoints so that a resumed run continues it.
        run_eagerly: run steps eagerly (for debugging with print/pdb).
        jit_compile: XLA-compile the step (faster on GPUs, slower on CPUs).
        verbose: ``"auto"`` (a progress bar within epochs on a terminal, a
            plain progress line every few seconds otherwise, and one line per
            epoch; `mit_dl.progress`), ``"progress"`` (the progress only:
            side work such as a feature classifier), ``True``/``1`` (the
            lines only) or ``False``/``0`` (nothing).
        extra_checkpoint_objects: more trackables to save (e.g. other models).
        checkpoint_data: save the data iterator in checkpoints (default).
            Pipelines that read variables (e.g. the DB-VAE's resampling
            probabilities) cannot be saved: with ``False`` a resumed run
            skips the batches already consumed instead, which gives the same
            batches for a seeded pipeline.
        steps_per_execution: steps run inside one compiled call (fewer
            Python round trips; callbacks then see the mean logs of each
            call). ``"auto"`` (default) sizes calls to about
            ``AUTO_CALL_SECONDS`` of work from the measured step time, so
            millisecond steps are grouped while slow steps still update the
            progress bar every step. Calls never cross epoch or checkpoint
            boundaries, and a call stops at the first non-finite loss, so the
            NaN guard names the exact step whatever the grouping.
    """

    AUTO_CALL_SECONDS = 0.25
    AUTO_MAX_STEPS = 50

    def __init__(
        self,
        model,
        optimizer=None,
        loss=None,
        metrics=(),
        train_step=None,
        strategy=None,
        checkpoint_dir=None,
        checkpoint_every=None,
        max_checkpoints=3,
        log_dir=None,
        run_eagerly=False,
        jit_compile=False,
        verbose="auto",
        extra_checkpoint_objects=None,
        steps_per_execution="auto",
        checkpoint_data=True,
    ):
        self._model_step = False
        if optimizer is None:
            optimizer = getattr(model, "optimizer", None)
            if optimizer is None:
                raise ValueError("Trainer needs an optimizer: pass one, or compile the model with one first.")
            if train_step is None and states_losses(model):
                train_step, self._model_step = (lambda batch: losses_step(model, batch)), True
            elif train_step is None and owns_train_step(model):
                train_step, self._model_step = model.train_step, True
            loss = loss if loss is not None or train_step is not None else getattr(model, "loss", None)
        if loss is None and train_step is None:
            raise ValueError("Trainer needs a `loss` for the default step, or a custom `train_step`.")
        if checkpoint_every is not None and (not isinstance(checkpoint_every, int) or checkpoint_every <= 0):
            raise ValueError(f"`checkpoint_every` must be a positive number of steps, received {checkpoint_every!r}.")
        if steps_per_execution != "auto" and (
            isinstance(steps_per_execution, bool)
            or not isinstance(steps_per_execution, int)
            or steps_per_execution <= 0
        ):
            raise ValueError(
                f'`steps_per_execution` must be a positive integer or "auto", received {steps_per_execution!r}.'
            )
        self.steps_per_execution = steps_per_execution
        self._auto_steps = 1  # grows once a call has been timed
        self.model = model
        if train_step is None:  # (compile already wraps a model's own optimizer under mixed_float16)
            optimizer = with_loss_scaling(optimizer)
        self.optimizers = optimizer if isinstance(optimizer, dict) else {"optimizer": optimizer}
        self.optimizer = None if isinstance(optimizer, dict) else optimizer
        self.loss_fn = keras.losses.get(loss) if isinstance(loss, str) else loss
        self.metric_fns = checks.resolve_metrics(metrics, loss)
        self.custom_step = train_step
        self.strategy = strategy or tf.distribute.get_strategy()
        self.distributed = strategy is not None and strategy is not tf.distribute.get_strategy()
        # Distributed iterators cannot be saved either.
        self._save_iterator = checkpoint_data and not self.distributed
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        self.verbose = verbose
        self.stop_training = False
        self.history = {}
        self.checkpoint_every = checkpoint_every
        self.log_dir = log_dir

        with self.strategy.scope():
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            # History entries the checkpoint has seen (-1: a checkpoint written before this counter existed).
            # The history file is written just before each checkpoint: a run killed between the two
            # resumes from the older checkpoint and drops the entry that checkpoint had not seen.
            self.epochs_recorded = tf.Variable(-1, dtype=tf.int64, trainable=False, name="epochs_recorded")
        self.checkpoint_dir = pathlib.Path(checkpoint_dir) if checkpoint_dir else None
        # The running sums of the epoch in progress: a run resumed in the middle of an epoch logs the same
        # epoch means as an uninterrupted one.
        self._partial_epoch = PartialEpoch()
        self._checkpoint_objects = dict(
            model=model, step=self.step, epochs_recorded=self.epochs_recorded, partial_epoch=self._partial_epoch
        )
        self._checkpoint_objects.update(self.optimizers)
        self._checkpoint_objects.update(extra_checkpoint_objects or {})
        # Keras SeedGenerator states (dropout, Sampling noise) are variables that
        # tf.train.Checkpoint does not reach through the model: save them
        # explicitly so a resumed run draws the same random numbers.
        models = [o for o in self._checkpoint_objects.values() if isinstance(o, keras.Model)]
        self._checkpoint_objects["rng_state"] = [
            v for m in models for v in m.non_trainable_variables if "seed_generator" in v.path
        ]
        self._manager = None
        self._max_checkpoints = max_checkpoints
        self._compiled_train = None
        self._compiled_eval = None

    # ------------------------------------------------------------------ steps
    def _default_step(self, batch):

        x, y = batch[0], batch[1]
        with tf.GradientTape() as tape:
            pred = self.model(x, training=True)
            per_example = checks.per_example(self.loss_fn, y, pred)
            loss = tf.nn.compute_average_loss(per_example)
            if self.model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(self.model.losses))
            scaled = self.optimizer.scale_loss(loss)  # inside the tape: loss scaling is a recorded multiply
        variables = self.model.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return self._batch_logs(loss, y, pred)

    def _batch_logs(self, loss, y, pred):

        logs = {"loss": loss}  # already averaged over the global batch
        for name, fn in self.metric_fns.items():
            logs[name] = tf.nn.compute_average_loss(tf.cast(checks.per_example(fn, y, pred), tf.float32))
        return logs

    def _eval_step(self, batch):
        """Per-example sums and the example count (exact means over uneven batches)."""

        x, y = batch[0], batch[1]
        pred = self.model(x, training=False)
        sums = {"loss": tf.reduce_sum(tf.cast(checks.per_example(self.loss_fn, y, pred), tf.float32))}
        for name, fn in self.metric_fns.items():
            sums[name] = tf.reduce_sum(tf.cast(checks.per_example(fn, y, pred), tf.float32))
        sums["_count"] = tf.cast(tf.shape(y)[0], tf.float32)
        return sums

    def _distributed(self, replica_fn, reduce_op):
        """``fn(iterator)``: one batch through ``replica_fn`` on every replica, reduced."""

        strategy = self.strategy
        if self.jit_compile and not self.run_eagerly:
            # XLA compiles the math only: the iterator read stays outside it.
            replica_fn = tf.function(replica_fn, jit_compile=True, reduce_retracing=True)

        def one_step(iterator):
            per_replica = strategy.run(replica_fn, args=(next(iterator),))
            return {k: tf.cast(strategy.reduce(reduce_op, v, axis=None), tf.float32) for k, v in per_replica.items()}

        return one_step

    def _compile(self, fn):

        if self.run_eagerly:
            return fn
        return tf.function(fn, reduce_retracing=True)

    def _train_function(self):
        """The compiled training function, built once per Trainer (one model/optimizer pair).

        ``fn(iterator, counter, n)`` runs up to ``n`` steps inside one call
        (``n`` is a tensor, so no retracing), bumps ``counter`` per step and
        returns the mean of the steps' logs and ``_steps``, the steps run: the
        call ends early after a step with a non-finite log, whose NaN/Inf then
        propagates into the mean.
        """

        if self._compiled_train is not None:
            return self._compiled_train
        if self.custom_step is not None:
            # Custom steps return per-replica means: average them over replicas.
            one_step = self._distributed(self.custom_step, tf.distribute.ReduceOp.MEAN)
        else:
            # Default-step values are already divided by the global batch: sum them.
            one_step = self._distributed(self._default_step, tf.distribute.ReduceOp.SUM)

        def all_finite(logs):
            return tf.reduce_all(tf.stack([tf.reduce_all(tf.math.is_finite(v)) for v in logs.values()]))

        def train(iterator, counter, n):
            logs = one_step(iterator)
            counter.assign_add(1)
            totals, done = logs, tf.constant(1)
            while done < n and all_finite(logs):
                logs = one_step(iterator)
                counter.assign_add(1)
                totals = {k: totals[k] + logs[k] for k in totals}
                done += 1
            means = {k: v / tf.cast(done, tf.float32) for k, v in totals.items()}
            means["_steps"] = done
            return means

        self._compiled_train = self._compile(train)
        self._first_call_pending = True
        return self._compiled_train

    # ------------------------------------------------------------ checkpoints
    def _checkpoint_manager(self, iterator):

        if self.checkpoint_dir is None:
            return None
        objects = dict(self._checkpoint_objects)
        if iterator is not None:
            objects["data"] = iterator  # data position: the shuffle state and offset
        checkpoint = tf.train.Checkpoint(**objects)
        self._manager = tf.train.CheckpointManager(
            checkpoint, str(self.checkpoint_dir), max_to_keep=self._max_checkpoints
        )
        return self._manager

    def latest_checkpoint(self):
        """The newest checkpoint of ``checkpoint_dir``.

        Returns:
            Its path prefix, or ``None`` when there is none.
        """
        if self._manager is not None:
            return self._manager.latest_checkpoint
        if self.checkpoint_dir is None:
            return None
        newest = checkpoints.found(self.checkpoint_dir)
        return newest[0][1] if newest else None

    def restore(self, path=None):
        """Load model, optimizer(s) and step from a checkpoint.

        Args:
            path: the checkpoint's path prefix; default the latest one.

        Returns:
            The path restored.

        Raises:
            FileNotFoundError: there is no checkpoint to restore.
        """

        self._build_optimizers()
        checkpoint = tf.train.Checkpoint(**self._checkpoint_objects)
        if path is not None:
            checkpoint.restore(path).expect_partial()
            return path
        path = self.checkpoint_dir and checkpoints.restore_newest_readable(checkpoint, self.checkpoint_dir, _warn)
        if not path:
            raise FileNotFoundError(f"no checkpoint found in {self.checkpoint_dir}; train first.")
        return path

    def _build_optimizers(self):
        # Keras optimizers create their slots lazily, and a checkpoint restore
        # does not wait for them (the slot values would be silently lost), so
        # every optimizer must exist in full before a restore.
        if self.custom_step is None or self._model_step:
            if not self.model.trainable_variables:
                raise ValueError(
                    f"the model {self.model.name} has no weights yet (a subclassed model is built by its first "
                    "call): call it on a batch before training, so its optimizer can be built for its weights."
                )
            with self.strategy.scope():
                if not self.optimizer.built:
                    self.optimizer.build(self.model.trainable_variables)
        elif self.checkpoint_dir is not None:
            unbuilt = sorted(name for name, o in self.optimizers.items() if not o.built)
            if unbuilt:
                raise ValueError(
                    f"optimizer(s) {unbuilt} of the custom train_step are not built; call "
                    "optimizer.build(its_model.trainable_variables) before fit so checkpoints can restore their state."
                )

    # -------------------------------------------------------------------- fit
    def fit(
        self,
        train_data,
        epochs=None,
        steps=None,
        steps_per_epoch=None,
        validation_data=None,
        callbacks=(),
        validation_name="val",
    ):
        """Train for a number of epochs or steps, resuming from a checkpoint when there is one.

        Data, model and arguments are checked before the first step. The dataset
        is iterated once, repeated, so shuffling continues across epochs exactly
        as in an uninterrupted run.

        With a ``checkpoint_dir`` holding a checkpoint, training resumes from it
        (weights, optimizer slots, step, RNG and data position) and runs to the
        same total number of steps as the interrupted run, with the same
        history (the running sums of the interrupted epoch are in the
        checkpoint). Ctrl-C (SIGINT) and SIGTERM stop training after the current
        compiled call: with a ``checkpoint_dir`` a checkpoint is written at that
        step first, then `TrainingInterrupted` says so.

        Args:
            train_data: a `tf.data.Dataset` of batches (``(x, y)`` for the default step).
            epochs: passes over ``train_data``; give this or ``steps``.
            steps: a budget of steps; epochs are then ``steps_per_epoch`` long.
            steps_per_epoch: steps per epoch (default: one pass over the data).
            validation_data: a dataset evaluated after each epoch.
            callbacks: `mit_dl.training.callbacks` objects (a `NaNGuard` is always added).
            validation_name: prefix of the validation metrics in the history
                (``"test"`` when the data is a test set).

        Returns:
            The history ``{metric: [value per epoch]}``.

        Raises:
            RunPastBudget: the checkpoint is already past the budget.
            TrainingInterrupted: SIGINT or SIGTERM stopped training.
            TrainingDiverged: a loss was not finite.
        """

        steps_per_epoch = checks.steps_per_epoch(train_data, steps_per_epoch)
        budget = checks.total_steps(epochs, steps, steps_per_epoch)
        if self.custom_step is None:
            checks.dataset_matches_model(train_data, self.model, "train_data")
            if validation_data is not None:
                checks.dataset_matches_model(validation_data, self.model, "validation_data")
        callbacks = list(callbacks)
        if not any(isinstance(c, callbacks_lib.NaNGuard) for c in callbacks):
            callbacks.insert(0, callbacks_lib.NaNGuard())

        self._build_optimizers()
        repeated = train_data.repeat() if train_data.cardinality() != tf.data.INFINITE_CARDINALITY else train_data
        # The budget counts from where this call starts: a second fit() in the
        # same process trains more, while a restarted process (step 0 before
        # the restore) continues the interrupted run up to the same total.
        start = int(self.step.numpy())
        total = start + budget
        # Data position: a local iterator is saved in the checkpoint (shuffle
        # buffer and offset). When it cannot be (distributed, or a pipeline
        # reading variables), the resumed run skips the batches the
        # interrupted run consumed; the seeded pipeline then yields the same
        # batches in the same order.
        iterator = iter(repeated) if self._save_iterator else None
        manager = self._checkpoint_manager(iterator)
        self._partial_epoch.clear()  # a checkpoint restored below brings its own
        restored = manager is not None and checkpoints.restore_newest_readable(
            manager.checkpoint, self.checkpoint_dir, _warn
        )
        if restored:
            manager = self._checkpoint_manager(iterator)  # the state file may have been rewritten
            history = history_io.with_split_name(history_io.read(self.checkpoint_dir), validation_name)
            seen = int(self.epochs_recorded.numpy())
            self.history = {k: v[:seen] for k, v in history.items()} if seen >= 0 else history
            self._say(f"resumed from {restored} at step {int(self.step.numpy())}")
            self._check_budget(start, total, epochs, steps, steps_per_epoch)
        else:  # checkpoints before the first epoch ends record that the history has no entry yet
            self.epochs_recorded.assign(max((len(v) for v in self.history.values()), default=0))
        if not self._save_iterator:
            remaining = repeated.skip(int(self.step.numpy()) - start)
            iterator = iter(self.strategy.experimental_distribute_dataset(remaining) if self.distributed else remaining)

        train_fn = self._last_train_function = self._train_function()
        writer = tf.summary.create_file_writer(str(self.log_dir)) if self.log_dir else None
        self.stop_training = False  # before the callbacks: one may decide at once that nothing is left to do
        for c in callbacks:
            c.on_train_begin(self)
        with interrupt_signals() as interrupted:
            self._say(f"training from step {int(self.step.numpy())} to step {total}")
            plan = _Plan(
                train_fn,
                iterator,
                total,
                steps_per_epoch,
                validation_data,
                validation_name,
                callbacks,
                writer,
                manager,
                interrupted,
            )
            self._loop(plan)
        for c in callbacks:
            c.on_train_end(self)
        return self.history

    def _loop(self, plan):
        """Compiled calls up to the plan's total step, with epochs, checkpoints, callbacks and interrupts."""
        progress = None
        partial = self._partial_epoch
        while int(self.step.numpy()) < plan.total and not self.stop_training:
            step = int(self.step.numpy())
            epoch = step // plan.steps_per_epoch
            if progress is None:  # this epoch's steps: the budget may end it early
                progress = self._progress_bar(
                    epoch, min(plan.steps_per_epoch, plan.total - epoch * plan.steps_per_epoch)
                )
            n = self._steps_this_call(step, plan.total, plan.steps_per_epoch, plan.callbacks)
            started = time.perf_counter()
            logs = {k: float(v) for k, v in plan.train_fn(plan.iterator, self.step, tf.constant(n)).items()}
            n = int(logs.pop("_steps"))
            self._tune_auto_steps(n, time.perf_counter() - started)
            step += n
            partial.add(logs, n)
            if progress is not None:
                progress.update(step - epoch * plan.steps_per_epoch, list(logs.items()))
            for c in plan.callbacks:
                c.on_step_end(self, step, logs)
            # A callback that stops training mid-epoch (a target reached) ends that epoch here: its
            # history entry and checkpoint are written, so the run's record stops where it stopped.
            epoch_ended = step % plan.steps_per_epoch == 0 or step == plan.total or self.stop_training
            if epoch_ended:
                epoch_logs = partial.means()
                if plan.validation_data is not None:
                    validation = self.evaluate(plan.validation_data)
                    epoch_logs.update({f"{plan.validation_name}_{k}": v for k, v in validation.items()})
                self._end_epoch(epoch, epoch_logs, plan.callbacks, plan.writer, step)
                partial.clear()
                progress = None
            # One checkpoint per step, written after the epoch's history entry: a checkpoint at an epoch's
            # last step records that epoch (a resume from it keeps the whole history).
            if plan.manager is not None and (epoch_ended or self._checkpoint_due(step)):
                self._save(plan.manager, step)
            if plan.interrupted:
                self._stop_interrupted(plan.interrupted[0], step, plan.manager)

    def _stop_interrupted(self, signal_name, step, manager):
        """Save a checkpoint at ``step`` (unless one was just written) and raise `TrainingInterrupted`."""
        if manager is None:
            raise TrainingInterrupted(
                f"training interrupted ({signal_name}) at step {step}; no checkpoint "
                "directory was given, so nothing was saved.",
                step,
                saved=False,
            )
        if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"ckpt-{step}"):
            self._save(manager, step)
        raise TrainingInterrupted(
            f"training interrupted ({signal_name}) at step {step}; checkpoint saved in {self.checkpoint_dir}",
            step,
            saved=True,
            directory=self.checkpoint_dir,
        )

    def _check_budget(self, start, total, epochs, steps, steps_per_epoch):
        """After a restore: refuse a checkpoint that is already past what this call asks for."""
        reached = int(self.step.numpy())
        if start != 0 or reached <= total:
            return
        if steps is not None:
            raise RunPastBudget(
                "steps",
                f"is {steps} but the checkpoint in {self.checkpoint_dir} is already at step "
                f"{reached}; ask for more than {reached} to train further, or choose "
                "another run directory",
            )
        raise RunPastBudget(
            "epochs",
            f"is {epochs} ({total} steps) but the checkpoint in {self.checkpoint_dir} is "
            f"already at step {reached} (epoch {-(-reached // steps_per_epoch)}); ask for "
            "more epochs to train further, or choose another run directory",
        )

    def _steps_this_call(self, step, total, steps_per_epoch, callbacks=()):
        """Steps for one compiled call: ``steps_per_execution``, cut at epoch, checkpoint and callback events."""
        wanted = self._auto_steps if self.steps_per_execution == "auto" else self.steps_per_execution
        n = min(wanted, total - step, steps_per_epoch - step % steps_per_epoch)
        if self.checkpoint_every:
            n = min(n, self.checkpoint_every - step % self.checkpoint_every)
        for c in callbacks:
            until = c.steps_until_event(step)
            if until:
                n = min(n, until)
        return n

    def _tune_auto_steps(self, steps, seconds):
        """For ``"auto"``: size the next calls to about ``AUTO_CALL_SECONDS`` of measured work."""
        if self.steps_per_execution != "auto" or self._first_call_pending:
            self._first_call_pending = False  # the first call includes tracing: not a step time
            return
        per_step = max(seconds / steps, 1e-6)
        self._auto_steps = int(min(self.AUTO_MAX_STEPS, max(1, self.AUTO_CALL_SECONDS // per_step)))

    def _checkpoint_due(self, step):
        return bool(self.checkpoint_every) and step % self.checkpoint_every == 0

    def _save(self, manager, step):
        """Write the history beside the checkpoints, then the checkpoint of ``step`` (which counts its entries)."""
        history_io.write(self.checkpoint_dir, self.history)
        manager.save(checkpoint_number=step)

    def _end_epoch(self, epoch, logs, callbacks, writer, step):

        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        self.epochs_recorded.assign(max((len(v) for v in self.history.values()), default=0))
        if writer is not None:
            with writer.as_default(step=step):
                for k, v in logs.items():
                    tf.summary.scalar(k, v)
            writer.flush()
        shown = ", ".join(f"{k} {progress_lib.format_value(v)}" for k, v in logs.items())
        self._say(f"epoch {epoch + 1} (step {step}): {shown}")
        for c in callbacks:
            c.on_epoch_end(self, epoch, logs)
        if self.log_dir:
            history_io.write(self.log_dir, self.history)

    def evaluate(self, data):
        """Mean loss and metrics over ``data`` (every batch, weighted by its examples).

        Args:
            data: a dataset of ``(x, y)`` batches.

        Returns:
            ``{"loss": ..., metric name: ...}`` as floats.
        """

        if self.loss_fn is None:
            raise ValueError("evaluate needs the Trainer's `loss`; custom-step trainers evaluate themselves.")
        checks.dataset_matches_model(data, self.model, "evaluation data")
        if self.distributed:
            data = self.strategy.experimental_distribute_dataset(data)
        if self._compiled_eval is None:
            self._compiled_eval = self._compile(self._distributed(self._eval_step, tf.distribute.ReduceOp.SUM))
        eval_fn = self._compiled_eval
        iterator = iter(data)
        totals = {}
        while True:
            try:
                values = eval_fn(iterator)
            except (StopIteration, tf.errors.OutOfRangeError):
                break
            for k, v in values.items():
                totals[k] = totals.get(k, 0.0) + float(v)
        count = totals.pop("_count", 0.0)
        if not count:
            raise ValueError("the evaluation data is empty; pass a dataset with at least one batch.")
        return {k: v / count for k, v in totals.items()}

    # ---------------------------------------------------------------- output
    def _progress_bar(self, epoch, steps_per_epoch):
        """Keras' bar on a terminal (``verbose="auto"``), else a plain line every few seconds, or nothing."""
        if not self.verbose or progress_lib.quiet():
            return None
        if self.verbose in ("auto", "progress") and progress_lib.interactive():
            print(f"epoch {epoch + 1}")
            return keras.utils.Progbar(steps_per_epoch, stateful_metrics=None)
        ticker = progress_lib.Ticker(steps_per_epoch, label=f"epoch {epoch + 1}: step")
        return _TickerBar(ticker)

    def _say(self, message):
        if self.verbose and self.verbose != "progress":
            print(message, flush=True)
