"""FSDD / class-folder audio -> log-mel; CIFAR-10 pickles and image folders -> patches; bad input."""

import pickle

import numpy as np
import pytest

from biodyn.errors import ConfigError, RecordingError
from biodyn.testing import has_module

sf = pytest.importorskip("soundfile")
needs_librosa = pytest.mark.skipif(not has_module("librosa"), reason="librosa (extra 'audio') not installed")


def _tone(f_hz, sr=8000, dur=0.5):
    t = np.arange(int(sr * dur)) / sr
    return (0.5 * np.sin(2 * np.pi * f_hz * t)).astype(np.float32)


@needs_librosa
def test_log_mel_of_a_tone_peaks_in_the_band_holding_its_frequency():
    from librosa import mel_frequencies

    from biodyn.datasets.audio import MelConfig, log_mel, mel_filterbank

    cfg = MelConfig()
    feats = log_mel(_tone(1000.0), cfg)
    assert feats.shape == (1 + (4000 - 256) // 160, 40)
    centres = mel_frequencies(cfg.n_mels + 2, fmin=0, fmax=4000)[1:-1]
    peak = int(np.median(feats.argmax(1)))
    assert abs(centres[peak] - 1000.0) < (centres[peak + 1] - centres[peak - 1])
    # power spectrum of frame 0 by a direct DFT, through the same filter bank
    x = _tone(1000.0)[:256] * np.hanning(257)[:-1]
    k = np.arange(129)[:, None] * np.arange(256)[None, :]
    power = np.abs((x * np.exp(-2j * np.pi * k / 256)).sum(1)) ** 2
    np.testing.assert_allclose(feats[0], np.log(mel_filterbank(cfg) @ power + 1e-6), rtol=1e-4, atol=1e-4)


@needs_librosa
def test_fsdd_layout_split_and_fixed_length(tmp_path):
    from biodyn.datasets.audio import MelConfig, load_audio, scan_audio

    rec = tmp_path / "recordings"
    rec.mkdir()
    for label, f in (("0", 300.0), ("1", 1500.0)):
        for rep in (0, 4, 5, 9, 10, 30):
            sf.write(rec / f"{label}_spk_{rep}.wav", _tone(f, dur=0.2 + 0.01 * rep), 8000, subtype="PCM_16")
    clips = scan_audio(tmp_path)
    by = {(c.label, int(c.path.stem.split("_")[-1])): c.split for c in clips}
    assert by[("0", 0)] == by[("0", 4)] == "test" and by[("0", 5)] == by[("0", 9)] == "val"
    assert by[("1", 10)] == by[("1", 30)] == "train"
    d = load_audio(tmp_path, MelConfig(n_frames=30))
    assert d["classes"] == ["0", "1"]
    assert d["train"]["x"].shape == (4, 30, 40) and d["test"]["x"].shape == (4, 30, 40)
    assert sorted(d["test"]["y"].tolist()) == [0, 0, 1, 1]


def test_class_folders_and_bad_wavs(tmp_path):
    from biodyn.datasets.audio import read_wav, scan_audio

    for c in ("yes", "no"):
        (tmp_path / c).mkdir()
        for i in range(5):
            sf.write(tmp_path / c / f"{i}.wav", _tone(440.0, dur=0.1), 8000)
    splits = [c.split for c in scan_audio(tmp_path) if c.label == "yes"]
    assert splits == ["test", "val", "train", "train", "train"]
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 8000)
    with pytest.raises(RecordingError, match=r"empty\.wav: empty WAV"):
        read_wav(empty)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    with pytest.raises(RecordingError, match=r"junk\.wav: unreadable WAV"):
        read_wav(junk)
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    with pytest.raises(ConfigError, match="no audio dataset found"):
        scan_audio(nothing)


def _write_batch(path, images, labels):
    # the official layout: data (N, 3072) uint8 as 1024 R, 1024 G, 1024 B values, row-major
    data = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    with open(path, "wb") as f:
        pickle.dump(
            {
                b"batch_label": b"x",
                b"labels": list(labels),
                b"data": data,
                b"filenames": [b"f%d.png" % i for i in range(len(images))],
            },
            f,
        )


def test_cifar_pickles_roundtrip_and_patch_order(tmp_path):
    from biodyn.datasets.cifar import load_cifar, patchify

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    _write_batch(folder / "data_batch_1", imgs[:4], [0, 1, 2, 3])
    _write_batch(folder / "test_batch", imgs[4:], [9, 8])
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"a%d" % i for i in range(10)], b"num_vis": 3072}, f)
    d = load_cifar(tmp_path)
    assert d["classes"][:2] == ["a0", "a1"]
    np.testing.assert_array_equal(d["train"]["x"], imgs[:4])
    assert d["test"]["y"].tolist() == [9, 8]
    p = patchify(d["train"]["x"], 4)
    assert p.shape == (4, 64, 48)
    np.testing.assert_array_equal(p[1, 0], imgs[1, :4, :4].reshape(-1))  # top-left patch, (p, p, 3) order
    np.testing.assert_array_equal(p[1, 9], imgs[1, 4:8, 4:8].reshape(-1))  # row 1, column 1 of the 8x8 grid


@pytest.mark.parametrize(
    ("split", "labels", "bad"), [("data_batch_1", [0, 99, 2, 3], 99), ("test_batch", [-1, 8], -1)]
)
def test_cifar_labels_outside_the_classes_are_refused(tmp_path, split, labels, bad):
    """Labels 99 and -1 used to train and test silently (a head of 10 outputs indexed out of range, or the
    last class); the file and the item are named."""
    from biodyn.datasets.cifar import load_cifar
    from biodyn.errors import RecordingError

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    imgs = np.zeros((6, 32, 32, 3), np.uint8)
    train, test = ([0, 1, 2, 3], [9, 8])
    if split == "data_batch_1":
        train = labels
    else:
        test = labels
    _write_batch(folder / "data_batch_1", imgs[:4], train)
    _write_batch(folder / "test_batch", imgs[4:], test)
    with pytest.raises(
        RecordingError, match=rf"{split}: label {bad} at item {labels.index(bad)} is outside 0..9"
    ):
        load_cifar(tmp_path)


def test_cifar_unpickler_refuses_code(tmp_path):
    import os

    from biodyn.datasets.cifar import load_cifar

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil()}, f)
    with pytest.raises(RecordingError, match="refusing to load"):
        load_cifar(tmp_path)


def test_image_folder_and_bad_images(tmp_path):
    from PIL import Image

    from biodyn.datasets.cifar import load_cifar

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                    tmp_path / split / c / f"{i}.png"
                )
    d = load_cifar(tmp_path)
    assert d["classes"] == ["cat", "dog"] and d["train"]["x"].shape == (4, 32, 32, 3)
    assert d["test"]["y"].tolist() == [0, 0, 1, 1]
    (tmp_path / "train" / "cat" / "bad.jpg").write_bytes(b"")
    with pytest.raises(RecordingError, match=r"bad\.jpg: empty image"):
        load_cifar(tmp_path)
    (tmp_path / "train" / "cat" / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(RecordingError, match=r"bad\.jpg: unreadable image"):
        load_cifar(tmp_path)
    (tmp_path / "train" / "cat" / "bad.jpg").unlink()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "train" / "dog" / "small.png")
    with pytest.raises(RecordingError, match=r"small\.png: image of size"):
        load_cifar(tmp_path)
    with pytest.raises(ConfigError, match="no image folder"):
        load_cifar(tmp_path / "train" / "cat")


def test_train_and_test_class_folders_split(tmp_path):
    """Under train/ + test/: test/ is the test set and every 10th file of each class under train/ (by name)
    the validation set."""
    from biodyn.datasets.audio import scan_audio

    for top, n in (("train", 20), ("test", 3)):
        for c in ("yes", "no"):
            (tmp_path / top / c).mkdir(parents=True)
            for i in range(n):
                sf.write(tmp_path / top / c / f"{i:02d}.wav", _tone(440.0, dur=0.05), 8000)
    clips = [c for c in scan_audio(tmp_path) if c.label == "yes"]
    val = sorted(c.path.name for c in clips if c.split == "val")
    assert val == ["09.wav", "19.wav"] and sum(c.split == "train" for c in clips) == 18
    assert {c.path.parent.parent.name for c in clips if c.split == "test"} == {"test"}
    assert sum(c.split == "test" for c in clips) == 3
