import numpy as np
import pytest

from biodyn.datasets import get_corpus
from biodyn.errors import ChannelError
from biodyn.montage import TEN_TWENTY_19
from biodyn.types import Recording


def _edf(path, names=TEN_TWENTY_19, seconds=20, fs=128.0):
    from biodyn.io import write_edf

    x = np.random.default_rng(0).standard_normal((len(names), int(seconds * fs))).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_edf(path, Recording(x, fs, list(names), [], {}))


@pytest.fixture
def folder(tmp_path):
    _edf(tmp_path / "sub-01" / "sub-01_task-rest_eeg.edf")
    (tmp_path / "sub-01" / "sub-01_task-rest_events.tsv").write_text(
        "onset\tduration\teventType\tconfidence\n2.0\t5.0\tsz_foc\tn/a\n10.0\t1.0\tbckg\tn/a\n"
    )
    _edf(tmp_path / "train" / "pat2" / "rec2.edf")
    (tmp_path / "train" / "pat2" / "rec2.csv_bi").write_text(
        "# version = csv_v1.0.0\n# duration = 20.0000 secs\n#\nchannel,start_time,stop_time,label,confidence\n"
        "TERM,0.0000,4.0000,bckg,1.0\nTERM,4.0000,8.0000,seiz,1.0\n"
    )
    _edf(tmp_path / "pat3" / "rec3.edf")
    return tmp_path


def test_labels_subjects_splits(folder):
    c = get_corpus("folder", folder)
    refs = {r.record_id: r for r in c.records()}
    assert set(refs) == {"sub-01/sub-01_task-rest_eeg", "train/pat2/rec2", "pat3/rec3"}
    assert refs["sub-01/sub-01_task-rest_eeg"].subject == "sub-01"
    assert refs["train/pat2/rec2"].split == "train" and refs["train/pat2/rec2"].subject == "pat2"
    r1 = refs["sub-01/sub-01_task-rest_eeg"]
    rec = c.load(r1)
    y = c.target(r1, rec).per_sample
    assert rec.data.shape == (19, 20 * 128)
    np.testing.assert_array_equal(np.flatnonzero(np.diff(y)) + 1, [2 * 128, 7 * 128])  # bckg row ignored
    r2 = refs["train/pat2/rec2"]
    y2 = c.target(r2, c.load(r2)).per_sample
    assert y2[: 4 * 128].sum() == 0 and y2[4 * 128 : 8 * 128].all() and y2[8 * 128 :].sum() == 0
    r3 = refs["pat3/rec3"]
    assert (c.target(r3, c.load(r3)).per_sample == -1).all()  # unlabelled


def test_bipolar_montage_and_missing_channels(folder):
    from biodyn.datasets.folder import Folder

    c = Folder(folder, channels=("Fp1-F7", "F7-T7"))
    ref = c.records()[0]
    rec = c.load(ref)
    assert rec.channels == ["Fp1-F7", "F7-T7"] and rec.data.shape[0] == 2
    with pytest.raises(ChannelError, match=r"missing channel.*Xx9"):
        Folder(folder, channels=("Xx9",)).load(ref)


@pytest.mark.slow
def test_builds_a_cache(folder, tmp_path):
    from biodyn.cache import WindowDataset, build_cache

    c = get_corpus("folder", folder)
    rep = build_cache(c, tmp_path / "cache", window_s=10.0, stride_s=10.0, progress=False)
    assert not rep.failed and len(rep.built) == 3
    ds = WindowDataset(tmp_path / "cache")
    assert len(ds) == 6 and ds.fs == 256.0
