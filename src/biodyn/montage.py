"""Channel names, the 10-20 sets, bipolar derivations and scalp positions.

Canonical names follow the 10-10 system as MNE spells it (``Fp1``, ``Fz``, ``FC5``, ``AFz``), with the
modern names for the temporal/parietal electrodes that old 10-20 montages call T3/T4/T5/T6
(``T3 -> T7``, ``T4 -> T8``, ``T5 -> P7``, ``T6 -> P8``; ACNS 2006). Corpus spellings are mapped:
``EEG FP1-REF`` / ``EEG FP1-LE`` (TUH) -> ``Fp1``, ``Fc5.`` (EEGMMIDB) -> ``FC5``, ``FP1-F7`` (CHB-MIT)
-> ``Fp1-F7``, ``EEG Fpz-Cz`` (Sleep-EDF) -> ``Fpz-Cz``. Names that are not electrodes (``ECG``, ``II``,
``Resp oro-nasal``) come back stripped, unchanged otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from biodyn.errors import ChannelError, ConfigError

OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}

# 19-channel referential 10-20 set in the order TUSZ / Brain-Go-Brr use (modern names).
TEN_TWENTY_19: tuple[str, ...] = (
    "Fp1",
    "Fp2",
    "F7",
    "F3",
    "Fz",
    "F4",
    "F8",
    "T7",
    "C3",
    "Cz",
    "C4",
    "T8",
    "P7",
    "P3",
    "Pz",
    "P4",
    "P8",
    "O1",
    "O2",
)

# TUH temporal central parasagittal (TCP) montage: 22 bipolar channels.
TCP_BIPOLAR: tuple[tuple[str, str], ...] = (
    ("Fp1", "F7"),
    ("F7", "T7"),
    ("T7", "P7"),
    ("P7", "O1"),
    ("Fp2", "F8"),
    ("F8", "T8"),
    ("T8", "P8"),
    ("P8", "O2"),
    ("A1", "T7"),
    ("T7", "C3"),
    ("C3", "Cz"),
    ("Cz", "C4"),
    ("C4", "T8"),
    ("T8", "A2"),
    ("Fp1", "F3"),
    ("F3", "C3"),
    ("C3", "P3"),
    ("P3", "O1"),
    ("Fp2", "F4"),
    ("F4", "C4"),
    ("C4", "P4"),
    ("P4", "O2"),
)

_ELECTRODE = re.compile(r"^(FP|AF|FC|FT|CP|TP|PO|NZ|F|C|T|P|O|I|A|M|N)(\d{1,2}|Z)$", re.IGNORECASE)
_PREFIX = re.compile(r"^(EEG|EOG|ECG|EKG|EMG)\s+", re.IGNORECASE)
_REF_SUFFIX = re.compile(r"-(REF|LE|AR|AVG|M1|A1A2|REF\d*)$", re.IGNORECASE)


def _electrode(token: str) -> str | None:
    """Canonical spelling of one electrode token, or None if it is not one."""
    m = _ELECTRODE.match(token.strip().rstrip("."))
    if m is None:
        return None
    head, tail = m.group(1).upper(), m.group(2).upper()
    head = {"FP": "Fp", "NZ": "Nz"}.get(head, head)
    name = head + ("z" if tail == "Z" else tail)
    if name == "Nzz":
        name = "Nz"
    return OLD_TO_NEW.get(name, name)


def canonical_name(name: str) -> str:
    """Canonical name of one channel label (see the module docstring)."""
    original = str(name).strip()
    s = _PREFIX.sub("", original)
    s = _REF_SUFFIX.sub("", s)
    s = s.rstrip(".").strip()
    e = _electrode(s)
    if e is not None:
        return e
    parts = s.split("-")
    # CHB-MIT repeats a derivation with a "-0"/"-1" suffix (e.g. T8-P8-0): drop the counter.
    if len(parts) == 3 and parts[2].isdigit():
        parts = parts[:2]
    if len(parts) == 2:
        a, b = _electrode(parts[0]), _electrode(parts[1])
        if a is not None and b is not None:
            return f"{a}-{b}"
    return original  # not an electrode: keep the label as the file spells it ("EOG horizontal")


def canonicalize(names) -> list[str]:
    """Canonical names of a list of labels."""
    return [canonical_name(n) for n in names]


def select_channels(
    data: np.ndarray,
    names: Sequence[str],
    wanted: Sequence[str],
    *,
    on_missing: str = "raise",
    derive_bipolar: bool = True,
    source: str | None = None,
    hint: str = "",
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Rows of ``data`` ``(C, T)`` in the order of ``wanted``: the one channel selection of biodyn (a
    detector's montage, ``biodyn lags --channels``, a corpus' channel set).

    A wanted name matches a channel spelled exactly so, else one with the same canonical name (case
    ignored: ``EEG FP1-REF``, ``fp1`` and ``Fp1`` are one channel); the first of repeated names wins. With
    ``derive_bipolar`` a bipolar ``a-b`` the recording lacks is derived as ``a - b`` from referential ``a``
    and ``b``. Missing channels raise :class:`ChannelError` naming them (``hint`` is appended), or with
    ``on_missing="zero"`` become zero rows.

    Returns ``(rows (len(wanted), T), the matched channels' names as the recording spells them (the wanted
    name for a derived or zero-filled row), missing names, derived names)``.
    """
    if on_missing not in ("raise", "zero"):
        raise ConfigError(f"invalid on_missing={on_missing!r}; allowed: 'raise', 'zero'")
    names = [str(n) for n in names]

    def key(n: str) -> str:
        return canonical_name(n).lower()

    exact = {n: k for k, n in reversed(list(enumerate(names)))}
    loose: dict[str, int] = {}
    for k, n in enumerate(names):
        loose.setdefault(key(n), k)

    def find(w: str) -> int | None:
        return exact.get(w, loose.get(key(w)))

    out = np.zeros((len(wanted), data.shape[-1]), dtype=data.dtype)
    picked, missing, derived = [], [], []
    for row, w in enumerate(wanted):
        k = find(w)
        if k is not None:
            out[row] = data[k]
            picked.append(names[k])
            continue
        parts = canonical_name(w).split("-")
        if derive_bipolar and len(parts) == 2 and find(parts[0]) is not None and find(parts[1]) is not None:
            out[row] = data[find(parts[0])] - data[find(parts[1])]
            derived.append(w)
        else:
            missing.append(w)
        picked.append(w)
    if missing and on_missing == "raise":
        raise ChannelError(
            source, f"missing channel(s) {', '.join(missing)}; the recording has {', '.join(names)}{hint}"
        )
    return out, picked, missing, derived


def pick_channels(
    data: np.ndarray, names, wanted, on_missing: str = "raise", source: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``data`` ``(C, T)`` in the order of ``wanted``, matched by canonical name
    (:func:`select_channels` without bipolar derivation).

    Returns ``(data (len(wanted), T), mask (len(wanted),) bool)``. Missing channels raise
    :class:`ChannelError` naming them, or with ``on_missing="zero"`` become zero rows with ``mask False``.
    """
    out, _, missing, _ = select_channels(
        data, names, wanted, on_missing=on_missing, derive_bipolar=False, source=source
    )
    gone = set(missing)
    return out, np.array([w not in gone for w in wanted], dtype=bool)


# The standard 12 ECG leads and the Frank (vectorcardiographic) leads X, Y, Z. MIT-BIH's "MLII" (modified
# lead II) reads as II; PTB Diagnostic spells the Frank leads vx, vy, vz.
ECG_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FRANK_LEADS = ("X", "Y", "Z")
_ECG_UPPER = (
    {n.upper(): n for n in ECG_LEADS + FRANK_LEADS} | {"MLII": "II"} | {"V" + f: f for f in FRANK_LEADS}
)
_ECG_PREFIX = re.compile(r"^(ECG|EKG)(?=$|[\s_-])[\s_-]*", re.IGNORECASE)


def ecg_lead(name: str) -> str | None:
    """The standard spelling of the ECG lead a channel name denotes (one of :data:`ECG_LEADS` or the Frank
    leads :data:`FRANK_LEADS`), or None. A ``#2``-style repeat counter and an ``ECG``/``EKG`` prefix are
    ignored (``"ECG V1"``, ``"ekg-II"``, ``"avr"`` -> ``aVR``, ``"V6#2"``, ``"vx"`` -> ``X``)."""
    n = re.sub(r"#\d+$", "", str(name)).strip()
    n = _ECG_PREFIX.sub("", n)
    return _ECG_UPPER.get(n.upper())


def is_ecg_lead(name: str) -> bool:
    """THE rule for "this channel is an ECG lead": a standard lead (:func:`ecg_lead`) or a channel named
    just ``ECG``/``EKG``."""
    n = re.sub(r"#\d+$", "", str(name)).strip()
    return ecg_lead(n) is not None or n.upper() in ("ECG", "EKG")


def guess_modality(channels: Sequence[str]) -> str:
    """``"ecg"`` when more than half of ``channels`` are ECG leads (:func:`is_ecg_lead`), else ``"eeg"``."""
    names = list(channels)
    return "ecg" if sum(is_ecg_lead(n) for n in names) * 2 > len(names) else "eeg"


def bipolar(data: np.ndarray, names, pairs, source: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Bipolar derivations ``data[a] - data[b]`` for ``(a, b)`` in ``pairs``; names ``"a-b"``."""
    needed = sorted({canonical_name(p) for pair in pairs for p in pair})
    ref, _ = pick_channels(data, names, needed, source=source)
    row = {n: i for i, n in enumerate(needed)}
    out = np.stack([ref[row[canonical_name(a)]] - ref[row[canonical_name(b)]] for a, b in pairs])
    return out, [f"{canonical_name(a)}-{canonical_name(b)}" for a, b in pairs]


@lru_cache(maxsize=1)
def _standard_positions() -> dict[str, np.ndarray]:
    import mne  # heavy: only for plotting positions

    kinds = mne.channels.get_builtin_montages()
    kind = "colin27_1005" if "colin27_1005" in kinds else "standard_1005"  # renamed in MNE 1.13
    pos = mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]
    out = {}
    for name, xyz in pos.items():
        c = canonical_name(name)
        if c not in out or name == c:
            out[c] = np.asarray(xyz, dtype=np.float64)
    return out


def positions(names, dim: int = 2) -> np.ndarray:
    """10-05 positions ``(C, dim)`` of channels (MNE's ``colin27_1005``, formerly ``standard_1005``); a bipolar ``a-b`` sits at the midpoint of ``a`` and ``b``.

    ``dim=3`` gives head coordinates in metres ; ``dim=2`` an azimuthal
    equidistant projection (the nose at +y) scaled so that the ``Fpz``-``Oz`` circle has radius ~1, a bipolar
    pair at the midpoint of its two electrodes' projected positions (projecting the 3-D midpoint instead
    would throw a pair across the head, ``FT9-FT10``, in front of the nose).
    Unknown channels raise :class:`ChannelError`.
    """
    if dim not in (2, 3):
        raise ConfigError(f"invalid dim={dim!r}; allowed: 2, 3")
    if dim == 2:
        positions(names, dim=3)  # unknown channels raise, all named at once
        out = np.zeros((len(names), 2))
        for k, n in enumerate(names):
            parts = canonical_name(n).split("-")
            if len(parts) > 1:
                out[k] = positions(parts, dim=2).mean(axis=0)
            else:
                out[k] = _projected(parts[0])
        return out
    table = _standard_positions()
    rows, unknown = [], []
    for n in names:
        parts = canonical_name(n).split("-")
        if all(p in table for p in parts):
            rows.append(np.mean([table[p] for p in parts], axis=0))
        else:
            unknown.append(str(n))
            rows.append(np.zeros(3))
    if unknown:
        raise ChannelError(None, f"no scalp position for channel(s) {', '.join(unknown)}")
    return np.asarray(rows)


def _projected(name: str) -> np.ndarray:
    """The azimuthal equidistant projection ``(2,)`` of one electrode (:func:`positions`)."""
    table = _standard_positions()
    center = np.mean([table["T7"], table["T8"]], axis=0)
    xyz = positions([name], dim=3) - center
    r = np.linalg.norm(xyz, axis=1, keepdims=True)
    u = xyz / np.where(r == 0, 1, r)
    theta = np.arccos(np.clip(u[:, 2], -1, 1))  # angle from the vertex
    phi = np.arctan2(u[:, 1], u[:, 0])
    return (np.stack([theta * np.cos(phi), theta * np.sin(phi)], axis=1) / (np.pi / 2))[0]


def unique_names(names: Sequence[str]) -> list[str]:
    """Repeated names get ``#2``, ``#3`` ... (CHB-MIT's summary and EDFs list ``T8-P8`` twice)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        out.append(n if k == 0 else f"{n}#{k + 1}")
        seen[n] = k + 1
    return out
