"""Shared plain data types: :class:`Recording`, :class:`Event`, :class:`LagGraph`.

No torch here: these cross every layer of the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Event:
    """An annotated interval. ``channels`` is ``None`` for a whole-recording event."""

    onset_s: float
    duration_s: float
    label: str
    channels: tuple[str, ...] | None = None

    @property
    def offset_s(self) -> float:
        return self.onset_s + self.duration_s


@dataclass
class Recording:
    """One multichannel recording.

    Attributes:
        data: float32 ``(C, T)``.
        fs: sampling rate in Hz, one for all channels.
        channels: canonical channel names, ``len(channels) == C``.
        events: annotations, onsets relative to the first sample.
        meta: free-form provenance (path, patient id, units, ...).
    """

    data: np.ndarray
    fs: float
    channels: list[str]
    events: list[Event] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(f"Recording.data must be (C, T), got shape {self.data.shape}")
        if len(self.channels) != self.data.shape[0]:
            raise ValueError(
                f"Recording has {self.data.shape[0]} data rows but {len(self.channels)} channel names"
            )
        if not self.fs > 0:
            raise ValueError(f"Recording.fs must be > 0, got {self.fs}")

    @property
    def n_channels(self) -> int:
        return self.data.shape[0]

    @property
    def n_times(self) -> int:
        return self.data.shape[1]

    @property
    def duration_s(self) -> float:
        return self.n_times / self.fs

    # ---------------------------------------------------------------------------------------------- MNE
    @classmethod
    def from_mne(cls, raw) -> Recording:
        """A recording from an MNE ``Raw``: potentials (EEG, ECG, EOG, EMG, sEEG, ECoG channels, which MNE keeps
        in volts) in microvolts as biodyn's readers give them (``meta["units"]`` ``"uV"``), other channels
        (misc, stim, ...) as MNE holds them (unit ``""``); ``meta["ch_types"]`` keeps MNE's channel types,
        ``meta["start_time"]`` the measurement date (ISO 8601, or None); annotations become events with onsets
        from the first sample (``raw.first_time`` subtracted) and their channels, if any. The channel names are
        MNE's (:func:`biodyn.montage.canonicalize` gives canonical ones)."""
        types = raw.get_channel_types()
        scale = np.array([1e6 if t in VOLT_TYPES else 1.0 for t in types])
        data = (raw.get_data() * scale[:, None]).astype(np.float32)
        ann = raw.annotations
        events = [
            Event(float(onset - raw.first_time), float(dur), str(desc), tuple(chs) if len(chs) else None)
            for onset, dur, desc, chs in zip(ann.onset, ann.duration, ann.description, ann.ch_names)
        ]
        date = raw.info["meas_date"]
        meta = {
            "units": ["uV" if t in VOLT_TYPES else "" for t in types],
            "ch_types": list(types),
            "start_time": date.isoformat() if date is not None else None,
            "format": "mne",
        }
        return cls(data, float(raw.info["sfreq"]), list(raw.ch_names), events, meta)

    def to_mne(self, ch_types: str | list[str] | None = None):
        """An MNE ``RawArray`` of this recording: channels in a voltage unit (``meta["units"]``: V, mV, uV/µV,
        nV; default uV) converted to volts, others passed as they are; channel types from ``ch_types``, else
        ``meta["ch_types"]``, else ``"eeg"`` for voltage channels and ``"misc"`` for the rest; ``meta
        ["start_time"]`` as the measurement date (naive times are taken as UTC); events as annotations
        (with their channels)."""
        import datetime as dt

        import mne

        units = list(self.meta.get("units") or ["uV"] * self.n_channels)
        if len(units) != self.n_channels:
            raise ValueError(f"meta['units'] names {len(units)} units for {self.n_channels} channels")
        factor = [VOLT_UNITS.get(str(u).strip()) for u in units]
        if ch_types is None:
            ch_types = self.meta.get("ch_types") or ["eeg" if f is not None else "misc" for f in factor]
        if isinstance(ch_types, str):
            ch_types = [ch_types] * self.n_channels
        scale = np.array([1.0 if f is None else f for f in factor])
        info = mne.create_info(list(self.channels), float(self.fs), list(ch_types))
        raw = mne.io.RawArray(np.asarray(self.data, dtype=np.float64) * scale[:, None], info, verbose="error")
        start = self.meta.get("start_time")
        if start:
            date = dt.datetime.fromisoformat(str(start))
            raw.set_meas_date(date if date.tzinfo else date.replace(tzinfo=dt.timezone.utc))
        if self.events:
            raw.set_annotations(
                mne.Annotations(
                    [e.onset_s for e in self.events],
                    [e.duration_s for e in self.events],
                    [e.label for e in self.events],
                    orig_time=raw.info["meas_date"],
                    ch_names=[list(e.channels or ()) for e in self.events],
                )
            )
        return raw


# MNE channel types it keeps in volts (biodyn: microvolts), and voltage units -> volts
VOLT_TYPES = frozenset({"eeg", "ecg", "eog", "emg", "seeg", "ecog", "dbs"})
VOLT_UNITS = {"V": 1.0, "mV": 1e-3, "uV": 1e-6, "µV": 1e-6, "μV": 1e-6, "nV": 1e-9}


@dataclass
class LagGraph:
    """A directed lag graph over channels.

    ``tau[i, j]`` (seconds) and ``weight[i, j]`` describe the edge from source ``i`` to target ``j``:
    ``x_j(t)`` receives ``weight[i, j] * x_i(t - tau[i, j])`` (tigramite's orientation).
    ``weight[i, j] == 0`` means no edge.
    """

    tau: np.ndarray  # (C, C) seconds
    weight: np.ndarray  # (C, C)
    channels: list[str]
    fs: float

    def __post_init__(self) -> None:
        self.tau = np.asarray(self.tau, dtype=np.float64)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        c = len(self.channels)
        if self.tau.shape != (c, c) or self.weight.shape != (c, c):
            raise ValueError(
                f"LagGraph: tau {self.tau.shape} and weight {self.weight.shape} must both be ({c}, {c})"
            )

    @property
    def tau_samples(self) -> np.ndarray:
        return self.tau * self.fs

    def edges(self) -> list[dict[str, Any]]:
        """Asserted edges (``weight != 0``), strongest first."""
        src, dst = np.nonzero(self.weight)
        order = np.argsort(-np.abs(self.weight[src, dst]), kind="stable")
        return [
            {
                "source": self.channels[i],
                "target": self.channels[j],
                "tau_s": float(self.tau[i, j]),
                "tau_samples": float(self.tau[i, j] * self.fs),
                "weight": float(self.weight[i, j]),
            }
            for i, j in zip(src[order], dst[order])
        ]

    def focal_scores(self) -> np.ndarray:
        """``(C,)`` CLD-Trans' focal-lead score ``sum_j tau_ij`` (seconds; lowest = earliest), ``tau_ij = t_i -
        t_j`` the lag of channel ``i`` behind ``j`` between onset times ``t`` that the asserted edges give: an
        edge ``i -> j`` at delay ``d`` says ``t_j - t_i = d``, and ``t`` is the least-squares solution of all
        of them (minimum norm: every connected group of channels centred on 0, so a channel without edges
        scores 0 and ties with every other such channel). Pairs without an edge get their lag through the
        graph; opposite edges (a cycle) are averaged; an instantaneous edge says ``t_i = t_j``.

        On a complete graph of consistent delays ``sum_j tau_ij = C t_i - sum_j t_j``. The delays themselves
        (``tau[i, j] >= 0`` on edges) cannot be summed as they are: a missing edge would count as no delay, so a
        channel driving all others would lose to one driving a single neighbour and a lag-0 edge would rank its
        source first; nor the signed lags of the direct edges only (the first channel of a chain
        ``a -> b -> c`` would lose to ``b``).
        """
        mask = self.weight != 0
        np.fill_diagonal(mask, False)
        src, dst = np.nonzero(mask)
        c = len(self.channels)
        if len(src) == 0:
            return np.zeros(c)
        inc = np.zeros((len(src), c))
        inc[np.arange(len(src)), src], inc[np.arange(len(src)), dst] = -1.0, 1.0  # (E, C): t_dst - t_src
        t = np.linalg.lstsq(inc, self.tau[src, dst], rcond=None)[0]  # minimum norm
        score = c * t - t.sum()  # sum_j (t_i - t_j)
        return np.where(np.abs(score) < 1e-12, 0.0, score)

    def connected(self) -> np.ndarray:
        """``(C,)`` bool: the channels with at least one asserted edge (in or out, self-loops aside). The
        delays say nothing about the others' onset times (:meth:`focal_scores` puts them at 0 by gauge)."""
        off = self.weight != 0
        np.fill_diagonal(off, False)
        return off.any(0) | off.any(1)

    def focal_ranking(self, edgeless_last: bool = False) -> list[str]:
        """Channels ordered by :meth:`focal_scores`, ascending (CLD-Trans' rule ``argmin_i sum_j tau_ij``);
        ties (for example channels without edges) keep the channel order here, which means nothing: read ties from
        :meth:`focal_groups` and the first place from :meth:`focal_lead`; score top-k accuracy with
        :func:`biodyn.causal.metrics.topk_accuracy` and the scores, which credits ties by chance.

        ``edgeless_last``: the channels without any edge are not ranked among those the delays order (their
        score 0 is the gauge of the least-squares onset times, not a time): they come last, in channel order.
        The default keeps CLD-Trans' rule as its experiments score it."""
        if edgeless_last:
            return [n for g in self.focal_groups(edgeless_last=True) for n in g]
        order = np.argsort(self.focal_scores(), kind="stable")
        return [self.channels[i] for i in order]

    def focal_groups(self, edgeless_last: bool = False) -> list[list[str]]:
        """The focal ranking with its ties kept: groups of channels of equal :meth:`focal_scores` (within 1e-9 s),
        earliest first; within a group the channels are tied (listed in channel order, which means nothing).

        ``edgeless_last``: the channels without any edge (:meth:`connected`) form one final group of their own
        (unranked: the delays say nothing about them) instead of tying at score 0 inside the others' range."""
        scores = self.focal_scores()
        keep = self.connected() if edgeless_last else np.ones(len(self.channels), dtype=bool)
        groups: list[list[str]] = []
        last = None
        for i in np.argsort(scores, kind="stable"):
            if not keep[i]:
                continue
            if last is None or scores[i] - last > 1e-9:
                groups.append([])
            groups[-1].append(self.channels[i])
            last = scores[i]
        order = {n: k for k, n in enumerate(self.channels)}
        groups = [sorted(g, key=order.__getitem__) for g in groups]
        tail = [n for n, ok in zip(self.channels, keep) if not ok]
        return [*groups, tail] if tail else groups

    def focal_lead(self) -> str | None:
        """The one channel the delays put first, or None: a graph without edges has no focal lead, and a tie
        for the first place (see :meth:`focal_groups`) is not resolved. A channel without edges is never the
        focal lead (with or without ``edgeless_last``: every edge's group is centred on 0, so it has a member
        below 0 unless all its delays are 0, and then it ties with the edgeless channels)."""
        if not self.connected().any():
            return None
        first = self.focal_groups(edgeless_last=True)[0]
        return first[0] if len(first) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "channels": list(self.channels),
            "fs": float(self.fs),
            "tau_s": self.tau.tolist(),
            "tau_samples": self.tau_samples.tolist(),
            "weight": self.weight.tolist(),
            "edges": self.edges(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LagGraph:
        return cls(
            tau=np.asarray(d["tau_s"]),
            weight=np.asarray(d["weight"]),
            channels=list(d["channels"]),
            fs=d["fs"],
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)
