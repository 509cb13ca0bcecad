"""Recording <-> MNE Raw: units (volts vs microvolts), channel types, annotations and the measurement date,
checked against MNE itself."""

import datetime as dt

import numpy as np
import pytest

from biodyn.types import Event, Recording

mne = pytest.importorskip("mne")


def _raw(first_samp=0, meas_date=True):
    rng = np.random.default_rng(0)
    info = mne.create_info(["Fp1", "ECG", "EOG", "Temp"], 100.0, ["eeg", "ecg", "eog", "misc"])
    data = rng.standard_normal((4, 1000)) * np.array([[20e-6], [1e-3], [50e-6], [36.6]])
    raw = mne.io.RawArray(data, info, first_samp=first_samp, verbose="error")
    if meas_date:
        raw.set_meas_date(dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
    # onsets: from meas_date when there is one (so past first_samp), else from the first sample (MNE's rule)
    t0 = first_samp / 100 if meas_date else 0.0
    raw.set_annotations(
        mne.Annotations(
            [t0 + 1.0, t0 + 3.5],
            [0.5, 2.0],
            ["seizure", "artifact"],
            orig_time=raw.info["meas_date"],
            ch_names=[[], ["Fp1", "EOG"]],
        )
    )
    return raw


@pytest.mark.parametrize("first_samp, meas_date", [(0, True), (250, True), (250, False)])
def test_from_mne_units_types_events_date(first_samp, meas_date):
    raw = _raw(first_samp, meas_date)
    rec = Recording.from_mne(raw)
    volts = raw.get_data()
    assert rec.data.dtype == np.float32 and rec.fs == 100.0 and rec.channels == ["Fp1", "ECG", "EOG", "Temp"]
    np.testing.assert_allclose(rec.data[:3], volts[:3] * 1e6, rtol=1e-6)  # potentials: V -> uV
    np.testing.assert_allclose(rec.data[3], volts[3], rtol=1e-6)  # misc: as MNE holds it
    assert rec.meta["units"] == ["uV", "uV", "uV", ""]
    assert rec.meta["ch_types"] == ["eeg", "ecg", "eog", "misc"]
    assert rec.meta["start_time"] == ("2020-01-02T03:04:05+00:00" if meas_date else None)
    # onsets from the first sample of the data, whatever first_samp is
    assert rec.events == [Event(1.0, 0.5, "seizure", None), Event(3.5, 2.0, "artifact", ("Fp1", "EOG"))]
    # the same interval by MNE's own sample arithmetic
    start = raw.time_as_index(raw.annotations.onset[0] - raw.first_time)[0]
    assert start == round(rec.events[0].onset_s * rec.fs)


def test_round_trip_through_mne():
    raw = _raw(250)
    back = Recording.from_mne(raw).to_mne()
    np.testing.assert_allclose(back.get_data(), raw.get_data(), rtol=1e-6)
    assert back.get_channel_types() == raw.get_channel_types() and back.ch_names == raw.ch_names
    assert back.info["meas_date"] == raw.info["meas_date"] and back.info["sfreq"] == 100.0
    a, b = raw.annotations, back.annotations
    np.testing.assert_allclose(b.onset - back.first_time, a.onset - raw.first_time)
    np.testing.assert_allclose(b.duration, a.duration)
    assert list(b.description) == list(a.description)
    assert [tuple(c) for c in b.ch_names] == [tuple(c) for c in a.ch_names]


def test_to_mne_converts_the_recordings_units_to_volts():
    data = np.array([[10.0, -20.0], [1.5, 0.5], [7.0, 8.0]], dtype=np.float32)
    rec = Recording(
        data,
        250.0,
        ["Cz", "II", "SpO2"],
        [Event(0.004, 0.004, "x")],
        {"units": ["uV", "mV", "%"], "start_time": "2019-05-06T07:08:09"},
    )
    raw = rec.to_mne()
    np.testing.assert_allclose(raw.get_data(), [[10e-6, -20e-6], [1.5e-3, 0.5e-3], [7.0, 8.0]], rtol=1e-6)
    assert raw.get_channel_types() == ["eeg", "eeg", "misc"]  # no types recorded: voltages are EEG
    assert rec.to_mne(ch_types=["eeg", "ecg", "misc"]).get_channel_types() == ["eeg", "ecg", "misc"]
    assert raw.info["meas_date"] == dt.datetime(2019, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)
    assert raw.annotations.onset.tolist() == [0.004] and list(raw.annotations.description) == ["x"]
    plain = Recording(data[:2], 100.0, ["C3", "C4"]).to_mne()  # no units recorded: microvolts
    np.testing.assert_allclose(plain.get_data(), data[:2] * 1e-6, rtol=1e-6)
    assert plain.info["meas_date"] is None and len(plain.annotations) == 0
    with pytest.raises(ValueError, match="2 units for 3 channels"):
        Recording(data, 250.0, ["a", "b", "c"], meta={"units": ["uV", "uV"]}).to_mne()
