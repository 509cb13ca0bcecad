import numpy as np
import pytest

from biodyn.errors import ChannelError
from biodyn.montage import TCP_BIPOLAR, TEN_TWENTY_19, bipolar, canonical_name, pick_channels, positions


@pytest.mark.parametrize(
    ("raw", "canon"),
    [
        ("EEG FP1-REF", "Fp1"), ("EEG FP1-LE", "Fp1"), ("FP1-F7", "Fp1-F7"), ("Fc5.", "FC5"), ("Fp1", "Fp1"),
        ("EEG T3-REF", "T7"), ("T5", "P7"), ("EEG CZ-REF", "Cz"), ("Afz.", "AFz"), ("Iz..", "Iz"),
        ("T8-P8-0", "T8-P8"), ("EEG Fpz-Cz", "Fpz-Cz"), ("ECG", "ECG"), ("II", "II"), ("Resp oro-nasal", "Resp oro-nasal"), ("EOG horizontal", "EOG horizontal"),
    ],
)  # fmt: skip
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
