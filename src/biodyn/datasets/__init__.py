"""One module per corpus: where its files are and how its labels are encoded.

>>> from biodyn.datasets import get_corpus
>>> corpus = get_corpus("ptbxl", "/data/ptbxl")          # doctest: +SKIP
>>> ref = corpus.records()[0]; rec = corpus.load(ref)    # doctest: +SKIP
"""

from __future__ import annotations

from biodyn.datasets._base import Corpus, RecordRef, Target, events_to_labels
from biodyn.datasets.chbmit import CHBMIT
from biodyn.datasets.chbmit_excerpts import CHBMITExcerpts
from biodyn.datasets.eegmmidb import EEGMMIDB
from biodyn.datasets.folder import Folder
from biodyn.datasets.mimic_ecg import MIMICECG
from biodyn.datasets.ptbxl import PTBXL
from biodyn.datasets.siena import Siena
from biodyn.datasets.sleepedf import SleepEDF
from biodyn.datasets.synthetic import Synthetic
from biodyn.datasets.tusz import TUSZ
from biodyn.errors import ConfigError, check_option

CORPORA: dict[str, type[Corpus]] = {
    c.name: c
    for c in (CHBMIT, Siena, TUSZ, PTBXL, SleepEDF, EEGMMIDB, MIMICECG, Synthetic, CHBMITExcerpts, Folder)
}

__all__ = ["CORPORA", "Corpus", "RecordRef", "Target", "events_to_labels", "get_corpus", "list_corpora"]


def list_corpora() -> list[str]:
    return list(CORPORA)


def get_corpus(name: str, root=None, *, fs: float | None = None, **kwargs) -> Corpus:
    """Instantiate a corpus reader by name (``chbmit``, ``siena``, ``tusz``, ``ptbxl``, ``sleepedf``, ``eegmmidb``,
    ``mimic_ecg``, ``synthetic``); ``kwargs`` go to its constructor. ``fs``: the rate its windows will be
    resampled to; a corpus distributed at several rates (PTB-XL: 100 and 500 Hz) is then read at the lowest
    of them >= ``fs`` (the highest when none is), so that no window is upsampled from a coarser copy;
    ``sampling_rate=`` names the copy instead (refused for a corpus stored at one rate)."""
    check_option("dataset", name, CORPORA)
    if root is None and name != "synthetic":
        raise ConfigError(f"{name}: a data root is required (--root DIR)")
    cls = CORPORA[name]
    if "sampling_rate" in kwargs and not cls.stored_rates:
        raise ConfigError(
            f"{name}: sampling_rate={kwargs['sampling_rate']} given, but the corpus is stored at one rate only"
        )
    if fs is not None and cls.stored_rates and "sampling_rate" not in kwargs:
        above = [r for r in cls.stored_rates if r >= fs - 1e-6]
        kwargs["sampling_rate"] = min(above) if above else max(cls.stored_rates)
    return cls(root, **kwargs)
