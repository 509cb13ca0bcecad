"""What a training run returns in Python, for every system."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class RunResult(dict):
    """A finished run's results (the dict written to ``results.json``; indexing works as on that dict) with
    the trained model and the run folder beside them.

    Attributes:
        model: the trained model (its best checkpoint when one was kept), in eval mode.
        run_dir: the run folder (``config.yaml``, ``checkpoints/``, ``log.jsonl``, ``results.json``), which
            :func:`biodyn.models.from_pretrained` and ``biodyn eval`` read.
    """

    def __init__(self, results: dict[str, Any], *, model=None, run_dir: str | Path | None = None):
        super().__init__(results)
        self.model = model.eval() if model is not None else None
        self.run_dir = Path(run_dir) if run_dir is not None else None

    @property
    def results(self) -> dict[str, Any]:
        """The results as a plain dict."""
        return dict(self)
