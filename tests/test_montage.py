import numpy as np
import pytest

from biodyn.errors import ChannelError
from biodyn.montage import (
    TCP_BIPOLAR,
    TEN_TWENTY_19,
    bipolar,
    canonical_name,
    ecg_lead,
    guess_modality,
    is_ecg_lead,
    pick_channels,
    positions,
    select_channels,
)


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("EEG FP1-REF", "Fp1"),
        ("EEG FP1-LE", "Fp1"),
        ("FP1-F7", "Fp1-F7"),
        ("Fc5.", "FC5"),
        ("Fp1", "Fp1"),
        ("EEG T3-REF", "T7"),
        ("T5", "P7"),
        ("EEG CZ-REF", "Cz"),
        ("Afz.", "AFz"),
        ("Iz..", "Iz"),
        ("T8-P8-0", "T8-P8"),
        ("EEG Fpz-Cz", "Fpz-Cz"),
        ("ECG", "ECG"),
        ("II", "II"),
        ("Resp oro-nasal", "Resp oro-nasal"),
        ("EOG horizontal", "EOG horizontal"),
    ],
)
def test_canonical_names(raw, canon):
    assert canonical_name(raw) == canon


def test_sets():
    assert len(TEN_TWENTY_19) == 19 and len(set(TEN_TWENTY_19)) == 19
    assert len(TCP_BIPOLAR) == 22
    assert {a for a, _ in TCP_BIPOLAR} | {b for _, b in TCP_BIPOLAR} == set(TEN_TWENTY_19) - {"Fz", "Pz"} | {
        "A1",
        "A2",
    }


def test_pick_channels_missing_and_zero():
    data = np.arange(12, dtype=float).reshape(3, 4)
    names = ["EEG FP1-REF", "EEG C3-REF", "EEG O2-REF"]
    out, mask = pick_channels(data, names, ["O2", "Fp1"])
    np.testing.assert_array_equal(out, data[[2, 0]]) and mask.all()
    with pytest.raises(ChannelError, match=r"rec\.edf: missing channel\(s\) Cz, Pz"):
        pick_channels(data, names, ["Cz", "Fp1", "Pz"], source="rec.edf")
    out, mask = pick_channels(data, names, ["Cz", "Fp1"], on_missing="zero")
    assert mask.tolist() == [False, True] and np.all(out[0] == 0)


def test_bipolar_and_positions():
    data = np.random.default_rng(0).standard_normal((19, 10))
    out, names = bipolar(data, TEN_TWENTY_19, [("Fp1", "F7"), ("T3", "C3")])
    assert names == ["Fp1-F7", "T7-C3"]
    np.testing.assert_allclose(out[0], data[0] - data[2])
    p = positions(["Fp1", "Fp2", "Cz", "O1", "Fp1-F7"])
    assert p.shape == (5, 2)
    assert p[0, 0] < 0 < p[1, 0] and p[0, 1] > 0.5 and p[3, 1] < -0.5 and np.linalg.norm(p[2]) < 0.1
    np.testing.assert_allclose(p[4], (positions(["Fp1"])[0] + positions(["F7"])[0]) / 2, atol=0.05)
    with pytest.raises(ChannelError, match="no scalp position"):
        positions(["ECG"])


def test_select_channels_exact_then_canonical_and_derived_bipolar():
    # rows 0..3 hold 1, 2, 4, 8 so that every selected or derived row is identifiable by its value
    data = np.array([[1.0] * 5, [2.0] * 5, [4.0] * 5, [8.0] * 5])
    names = ["EEG FP1-REF", "EEG F7-REF", "fp1", "EEG T3-REF"]
    out, picked, missing, derived = select_channels(data, names, ["fp1", "Fp1-F7", "T7", "F7-T7"])
    # "fp1" is spelled exactly so in row 2 (exact first); Fp1-F7 is derived from the first Fp1 (row 0) and
    # F7 (row 1); T7 is T3 by its modern name; F7-T7 = F7 - T3
    assert out[:, 0].tolist() == [4.0, 1.0 - 2.0, 8.0, 2.0 - 8.0]
    assert picked == ["fp1", "Fp1-F7", "EEG T3-REF", "F7-T7"] and missing == []
    assert derived == ["Fp1-F7", "F7-T7"]
    with pytest.raises(ChannelError, match=r"r\.edf: missing channel\(s\) Cz.*the recording has.*zero-fill"):
        select_channels(data, names, ["Cz"], source="r.edf", hint=" (zero-fill)")
    with pytest.raises(ChannelError, match=r"Fp1-F7"):
        select_channels(data, names, ["Fp1-F7"], derive_bipolar=False)
    out, _, missing, _ = select_channels(data, names, ["Cz", "F7"], on_missing="zero")
    assert missing == ["Cz"] and out[:, 0].tolist() == [0.0, 2.0]


@pytest.mark.parametrize(
    ("name", "lead"),
    [
        ("I", "I"),
        ("avr", "aVR"),
        ("ECG V1", "V1"),
        ("ekg-II", "II"),
        ("V6#2", "V6"),
        ("MLII", "II"),
        ("ECG", None),
        ("Fp1", None),
        ("V7", None),
        ("EEG II", None),
    ],
)
def test_ecg_lead(name, lead):
    assert ecg_lead(name) == lead


def test_one_rule_for_ecg_leads():
    from biodyn.causal.plot import is_ecg
    from biodyn.causal.recording import resolve_preset

    assert is_ecg_lead("ECG") and is_ecg_lead("aVF") and not is_ecg_lead("Cz")
    assert guess_modality(["I", "II", "V1", "V2"]) == "ecg"
    assert guess_modality(["Fp1", "Fp2", "Cz"]) == "eeg"
    assert guess_modality(["Fz", "V1"]) == "eeg"  # half is not most
    assert guess_modality(["Fp1", "ECG", "EKG"]) == "ecg"
    # the lag fit's automatic preset and the lag plot's layout read the same rule
    assert resolve_preset("auto", ["ECG I", "ECG II", "Resp"])[0] == "ecg"
    # a bare ECG channel has no place on the layout
    assert is_ecg(["ECG I", "V2#2"]) and not is_ecg(["ECG", "V1"])
