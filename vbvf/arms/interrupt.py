"""A training stage stopped by SIGINT or SIGTERM keeps every step it finished.

A stage that saves checkpoints (``train.checkpoint_every > 0``) resumes from its newest one, but
without help an interrupt (Ctrl-C, ``timeout``, a scheduler's pre-emption) loses every step since
that checkpoint: up to ``checkpoint_every`` of them. ``SaveOnInterrupt`` catches the signal instead,
lets the step in flight finish, has the Trainer save a checkpoint, and then raises
``KeyboardInterrupt``, so the stage is never cached as finished and a rerun resumes at that step.
A second signal acts at once (the previous handlers are back after the first).
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from transformers import TrainerCallback

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class SaveOnInterrupt(TrainerCallback):
    """Turns a signal received while ``armed`` into a checkpoint at the end of the current step and a
    ``KeyboardInterrupt`` once it is written. Add it after every callback that writes beside a
    checkpoint (``HeldOutCallback.on_save``), so theirs are written too."""

    def __init__(self):
        self.received: str | None = None  # the signal's name, once one arrived
        self._previous: dict = {}  # the handlers ours replaced, while armed

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        self._restore()
        log.warning("%s: finishing the current training step, saving a checkpoint, then stopping "
                    "(send it again to stop at once)", self.received)

    def _restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous = {}

    @contextmanager
    def armed(self, trainer) -> Iterator[None]:
        """Catch the signals around ``trainer.train`` when the trainer saves checkpoints (else a signal acts
        as usual: nothing would be saved). Signal handlers exist only in the main thread."""
        if trainer.args.save_strategy != "no" and threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle) for signum in SIGNALS}
        try:
            yield
        finally:
            self._restore()
        if self.received is not None:  # arrived after the last step's save: stop anyway, as asked
            raise KeyboardInterrupt(f"training stopped by {self.received} after its last step")

    def on_step_end(self, args, state, control, **kwargs):
        if self.received is not None:
            control.should_save = True

    def on_save(self, args, state, control, **kwargs):
        if self.received is not None:
            raise KeyboardInterrupt(f"training stopped by {self.received} at step {state.global_step}; "
                                    f"checkpoint-{state.global_step} saved in {args.output_dir}: a rerun resumes there")
