"""Our scorer against what NEDC nedc_eeg_eval v6.0.0 printed for the 30-file TUSZ sample."""

import json
import re

import pytest

from biodyn.cli import main
from biodyn.io.events import read_annotation_files, read_nedc_list, read_nedc_params
from biodyn.metrics.nedc import score_annotations
from biodyn.testing import shared_data

PER_LABEL_KEYS = {
    "Targets": "targets",
    "Hits": "hits",
    "Misses": "misses",
    "False Alarms": "false_alarms",
    "Insertions": "insertions",
    "Deletions": "deletions",
    "True Positives (TP)": "tp",
    "True Negatives (TN)": "tn",
    "False Positives (FP)": "fp",
    "False Negatives (FN)": "fn",
    "Sensitivity (TPR, Recall)": "sensitivity",
    "Specificity (TNR)": "specificity",
    "Precision (PPV)": "precision",
    "Negative Pred. Value (NPV)": "npv",
    "Miss Rate (FNR)": "miss_rate",
    "False Positive Rate (FPR)": "fpr",
    "False Discovery Rate (FDR)": "fdr",
    "False Omission Rate (FOR)": "for",
    "Accuracy": "accuracy",
    "Misclassification Rate": "misclassification",
    "Prevalence": "prevalence",
    "F1 Score (F Ratio)": "f1",
    "Matthews (MCC)": "mcc",
    "False Alarm Rate": "fa_per_24h",
}
SUMMARY_KEYS = {
    "Total": "total",
    "Hits": "hits",
    "Misses": "misses",
    "False Alarms": "false_alarms",
    "Insertions": "insertions",
    "Deletions": "deletions",
    "True Positives(TP)": "tp",
    "False Positives (FP)": "fp",
    "Sensitivity (TPR, Recall)": "sensitivity",
    "Miss Rate (FNR)": "miss_rate",
    "Accuracy": "accuracy",
    "Misclassification Rate": "misclassification",
    "Prevalence": "prevalence",
    "Matthews (MCC)": "mcc",
    "Total Duration": "duration_s",
    "Total False Alarms": "total_false_alarms",
    "Total False Alarm Rate": "fa_per_24h",
    "F1 Score": "f1",
}
_LINE = re.compile(r"^\s*([A-Za-z][^:]*?):\s+(-?[\d.]+)\s*(%?)")


def score_files(refs, hyps, **kw):
    return score_annotations(read_annotation_files(refs), read_annotation_files(hyps), **kw)


def parse_nedc_summary(text: str) -> dict:
    """{method: {"labels": {label: {key: value}}, "summary": {key: value}, "kappa": {...}}}."""
    out, method, label, part = {}, None, None, None
    for line in text.splitlines():
        m = re.match(r"NEDC (DP ALIGNMENT|EPOCH|OVERLAP|TAES|INTER-RATER AGREEMENT) (SCORING )?SUMMARY", line)
        if m:
            method = {"DP ALIGNMENT": "dpalign", "INTER-RATER AGREEMENT": "ira"}.get(
                m.group(1), m.group(1).lower()
            )
            out[method] = {"labels": {}, "summary": {}, "kappa": {}}
            label = part = None
            continue
        if method is None:
            continue
        m = re.match(r"\s*LABEL: (\w+)", line)
        if m:
            label, part = m.group(1).lower(), "label"
            out[method]["labels"][label] = {}
            continue
        if line.startswith("SUMMARY:"):
            part = "summary"
            continue
        m = re.match(r"\s*Label: (\w+)\s+Kappa:\s+([-\d.]+)", line)
        if m:
            out[method]["kappa"][m.group(1)] = float(m.group(2))
            continue
        m = re.match(r"\s*Multi-Class Kappa:\s+([-\d.]+)", line)
        if m:
            out[method]["kappa"]["multi_class"] = float(m.group(1))
            continue
        m = _LINE.match(line)
        if m and part:
            name, printed = m.group(1).strip(), m.group(2)
            target = out[method]["labels"][label] if part == "label" else out[method]["summary"]
            decimals = len(printed.split(".")[1]) if "." in printed else 0
            target[name] = (float(printed), decimals, bool(m.group(3)))
    return out


@pytest.fixture(scope="module")
def golden():
    return parse_nedc_summary(shared_data("tusz_nedc", "test", "results", "summary.txt").read_text())


# per test, not per module (0.1 s each): mutation testing runs for a mutant only the tests that called the
# mutated code, and a shared fixture's calls are credited to the first test that built it
@pytest.fixture
def ours():
    lists = shared_data("tusz_nedc", "data", "lists")
    return score_files(read_nedc_list(lists / "ref.list"), read_nedc_list(lists / "hyp.list"))


def _agrees(ours_value: float, printed: tuple) -> bool:
    """Our value rounds to what NEDC printed (percentages are printed in percent)."""
    value, decimals, pct = printed
    return abs((100 * ours_value if pct else ours_value) - value) <= 0.5 * 10**-decimals + 1e-9


@pytest.mark.parametrize("method", ["dpalign", "epoch", "overlap", "taes"])
def test_every_printed_number_per_label(golden, ours, method):
    checked = 0
    for label, block in golden[method]["labels"].items():
        mine = ours[method].per_label[label]
        for name, printed in block.items():
            key = PER_LABEL_KEYS[name]
            assert _agrees(mine[key], printed), (method, label, name, mine[key], printed)
            checked += 1
    assert checked == 2 * len(PER_LABEL_KEYS)


@pytest.mark.parametrize("method", ["dpalign", "epoch", "overlap", "taes"])
def test_every_summary_number(golden, ours, method):
    s = ours[method].summary
    block = golden[method]["summary"]
    assert set(block) <= set(SUMMARY_KEYS) and len(block) >= 15
    for name, printed in block.items():
        assert _agrees(s[SUMMARY_KEYS[name]], printed), (method, name, s[SUMMARY_KEYS[name]], printed)


def test_ira_kappa(golden, ours):
    k = golden["ira"]["kappa"]
    assert k.keys() == {"seiz", "bckg", "multi_class"}
    for name, value in k.items():
        assert abs(ours["ira"].kappa[name] - value) <= 0.51e-4


def test_headline_overlap_numbers(ours):
    s = ours["overlap"].per_label["seiz"]
    assert (s["targets"], s["hits"], s["misses"], s["false_alarms"]) == (701, 604, 97, 2)
    assert round(100 * s["sensitivity"], 4) == 86.1626 and round(s["fa_per_24h"], 4) == 3.8165
    assert ours["overlap"].summary["duration_s"] == 45277.0


def test_score_cli(tmp_path, capsys):
    lists = shared_data("tusz_nedc", "data", "lists")
    out = tmp_path / "score.json"
    code = main(
        [
            "score",
            str(lists / "ref.list"),
            str(lists / "hyp.list"),
            "--method",
            "all",
            "--szcore",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "OVERLAP" in text and "86.1626%" in text
    res = json.loads(out.read_text())
    assert res["overlap"]["per_label"]["seiz"]["hits"] == 604 and "epoch" in res and "ira" in res
    # SzCORE merges events closer than 90 s, so it sees fewer, longer seizures than NEDC's 701
    assert 0 < res["szcore"]["ref_events"] < 701 and 0 <= res["szcore"]["sensitivity"] <= 1
    assert "SzCORE" in text


PER_FILE = {
    "overlap": "summary_ovlp.txt",
    "taes": "summary_taes.txt",
    "dpalign": "summary_dpalign.txt",
    "epoch": "summary_epoch.txt",
}
PER_FILE_KEYS = {
    "Hit": "hits",
    "Miss": "misses",
    "False Alarms": "false_alarms",
    "Sub": "substitutions",
    "Ins": "insertions",
    "Del": "deletions",
    "Total": "total",
}


@pytest.mark.parametrize("method", sorted(PER_FILE))
def test_every_per_file_number(ours, method):
    """summary_{ovlp,taes,dpalign,epoch}.txt: one block per file pair, e.g. '(Hit: 21  Miss: 14 ...)'."""
    text = shared_data("tusz_nedc", "test", "results", PER_FILE[method]).read_text()
    blocks = re.findall(r"^\s*(\d+): (\S+)\n\s+(\S+)\n.*?\((Hit: [^)]*)\)", text, flags=re.M | re.S)
    mine = ours[method].per_file
    assert len(blocks) == len(mine) == 30
    checked = 0
    for (idx, ref_path, hyp_path, counts), row in zip(blocks, mine):
        assert ref_path.rsplit("/", 1)[1] == row["ref"].rsplit("/", 1)[1], (idx, ref_path, row["ref"])
        assert hyp_path.rsplit("/", 1)[1] == row["hyp"].rsplit("/", 1)[1]
        for name, printed in re.findall(r"([A-Za-z][A-Za-z ]*?):\s+([-\d.]+)", counts):
            decimals = len(printed.split(".")[1]) if "." in printed else 0
            value = row[PER_FILE_KEYS[name.strip()]]
            assert abs(value - float(printed)) <= 0.5 * 10**-decimals + 1e-9, (
                method,
                idx,
                name,
                value,
                printed,
            )
            checked += 1
    assert checked >= 30 * 4


def test_params_file_and_cli_methods(tmp_path, capsys):
    from biodyn.metrics.nedc import NedcParams

    root = shared_data("tusz_nedc")
    toml = root / "docs" / "params" / "nedc_eeg_eval_params_v00.toml"
    assert NedcParams.from_mapping(read_nedc_params(toml), toml) == NedcParams()
    lists = root / "data" / "lists"
    for method in ("taes", "dpalign"):
        out = tmp_path / f"{method}.json"
        args = ["score", str(lists / "ref.list"), str(lists / "hyp.list"), "--method", method]
        assert main([*args, "--params", str(toml), "--json", str(out)]) == 0
        res = json.loads(out.read_text())
        assert list(res) == [method] and len(res[method]["per_file"]) == 30
    assert "TAES" in capsys.readouterr().out


def test_printed_summary_is_nedcs_line_for_line(ours):
    """Our summary printout equals NEDC's summary.txt from the first method on (confusion matrices, every
    count, rate and total), except for the title lines that name the program."""
    from biodyn.metrics.nedc import format_summary

    golden = shared_data("tusz_nedc", "test", "results", "summary.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(golden) if "SCORING SUMMARY" in line) - 1
    end = max(i for i, line in enumerate(golden) if line.startswith("=====")) - 1
    title = re.compile(r"^(NEDC .*SUMMARY) \(.*\):$")
    want = [title.sub(r"\1", line).rstrip() for line in golden[start:end]]
    got = [title.sub(r"\1", line).rstrip() for line in format_summary(ours).splitlines()[: len(want)]]
    assert len(want) > 350 and len(got) == len(want)
    for k, (w, g) in enumerate(zip(want, got)):
        assert g == w, (start + k + 1, w, g)


def test_score_cli_bad_input_is_one_line(tmp_path, capsys):
    ref = tmp_path / "r.list"
    ref.write_text(str(tmp_path / "missing.csv_bi") + "\n")
    assert main(["score", str(ref), str(ref)]) == 2
    err = capsys.readouterr().err
    assert "r.list: line 1: annotation file" in err and "Traceback" not in err
    assert main(["score", str(tmp_path / "nope.list"), str(ref)]) == 2
    assert "nope.list: cannot read the list" in capsys.readouterr().err


@pytest.mark.parametrize("method", sorted(PER_FILE))
def test_per_file_printout_is_nedcs(method):
    """format_per_file equals summary_{ovlp,taes,dpalign,epoch}.txt line for line (label sequences with
    NEDC's upper-case error marks and *** gaps, and the counts), except the two lines naming the files."""
    from biodyn.metrics.nedc import format_per_file

    lists = shared_data("tusz_nedc", "data", "lists")
    res = score_files(
        read_nedc_list(lists / "ref.list"), read_nedc_list(lists / "hyp.list"), methods=[method], details=True
    )
    want = shared_data("tusz_nedc", "test", "results", PER_FILE[method]).read_text().splitlines()
    got = format_per_file(res[method]).splitlines()
    assert len(got) == len(want) == 180
    for k, (w, g) in enumerate(zip(want, got)):
        if k % 6 == 0:  # "    0: <ref path>": the index and the file name agree
            assert g.split(":")[0] == w.split(":")[0] and g.rsplit("/", 1)[1] == w.rsplit("/", 1)[1]
        elif k % 6 == 1:
            assert g.rsplit("/", 1)[1] == w.rsplit("/", 1)[1]
        else:
            assert g == w, (k + 1, w, g)
