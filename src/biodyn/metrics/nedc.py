"""Scoring lists of annotation files NEDC-style: per-label statistics and a summary laid out like
``nedc_eeg_eval`` v6.0.0 prints it. Methods: ``dpalign``, ``epoch``, ``overlap``, ``taes``, ``ira``."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from biodyn.errors import ConfigError, RecordingError
from biodyn.metrics.events import (
    NULL,
    Counts,
    cohen_kappa_from_confusion,
    dp_alignment,
    normalize,
    per_label_kappa,
    sample_epochs,
    score_dpalign,
    score_overlap,
    score_taes,
)

METHODS = ("dpalign", "epoch", "overlap", "taes", "ira")
LABELS = ("seiz", "bckg")
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class NedcParams:
    """The scoring parameters of ``nedc_eeg_eval_params_v00.toml`` (defaults: NEDC's two-class seizure file).

    ``label_map`` maps each annotation symbol (lower case) to its scoring class; the classes, in the order
    they first appear in the map, are the labels scored. ``null_class`` is the background class.
    """

    label_map: tuple[tuple[str, str], ...] = (("seiz", "seiz"), ("bckg", "bckg"))
    null_class: str = NULL
    penalty_del: float = 1.0
    penalty_ins: float = 1.0
    penalty_sub: float = 1.0
    epoch_s: float = 0.25

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for _, c in self.label_map))

    @property
    def symbols(self) -> dict[str, str]:
        return dict(self.label_map)

    @classmethod
    def from_mapping(cls, d: dict, source: str | os.PathLike | None = None) -> NedcParams:
        """The parameters of an NEDC parameter file's content (``[MAP]``, ``[NEDC_DPALIGN]``, ``[NEDC_EPOCH]``;
        :func:`biodyn.io.events.read_nedc_params` reads the file); errors name ``source``."""
        try:
            pairs = []
            for cls_name, syms in d["MAP"].items():
                for sym in str(syms).split(","):
                    if sym.strip():
                        pairs.append((sym.strip().lower(), cls_name.strip().lower()))
            dp = d.get("NEDC_DPALIGN", {})
            ep = d.get("NEDC_EPOCH", {})
            out = cls(
                label_map=tuple(pairs),
                null_class=str(ep.get("null_class", NULL)).lower(),
                penalty_del=float(dp.get("penalty_del", 1.0)),
                penalty_ins=float(dp.get("penalty_ins", 1.0)),
                penalty_sub=float(dp.get("penalty_sub", 1.0)),
                epoch_s=float(ep.get("epoch_duration", 0.25)),
            )
        except (KeyError, ValueError, AttributeError) as e:
            raise RecordingError(source, f"bad NEDC parameter file: {e!r}") from None
        if out.null_class not in out.labels:
            raise RecordingError(
                source, f"null_class {out.null_class!r} is not a class of [MAP] {out.labels}"
            )
        if not out.epoch_s > 0:
            raise RecordingError(source, f"epoch_duration must be > 0, got {out.epoch_s}")
        return out


def rates(tp: float, tn: float, fp: float, fn: float) -> dict[str, float]:
    """The per-label statistics NEDC prints (fractions; NaN where a denominator is 0)."""

    def div(a, b):
        return a / b if b else math.nan

    sens, prec = div(tp, tp + fn), div(tp, tp + fp)
    mcc_den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    total = tp + tn + fp + fn
    return {
        "sensitivity": sens,
        "specificity": div(tn, tn + fp),
        "precision": prec,
        "npv": div(tn, tn + fn),
        "miss_rate": div(fn, tp + fn),
        "fpr": div(fp, fp + tn),
        "fdr": div(fp, tp + fp),
        "for": div(fn, fn + tn),
        "accuracy": div(tp + tn, total),
        "misclassification": div(fp + fn, total),
        "prevalence": div(tp + fn, total),
        "f1": div(2 * prec * sens, prec + sens) if prec == prec and sens == sens else math.nan,
        "mcc": div(tp * tn - fp * fn, mcc_den),
    }


@dataclass
class MethodResult:
    method: str
    labels: tuple[str, ...]
    per_label: dict[str, dict[str, float]] = field(default_factory=dict)
    per_file: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, float] = field(default_factory=dict)
    confusion: list[list[float]] | None = None
    kappa: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _label_block(
    c: Counts,
    tn: float,
    fp: float,
    fn: float,
    fa_events: float,
    duration_s: float,
    insertions: float,
    deletions: float,
) -> dict[str, float]:
    d = {
        "targets": c.targets,
        "hits": c.hits,
        "misses": c.misses,
        "false_alarms": c.false_alarms,
        "insertions": insertions,
        "deletions": deletions,
        "tp": c.hits,
        "tn": tn,
        "fp": fp,
        "fn": fn,
    }
    d.update(rates(c.hits, tn, fp, fn))
    d["fa_per_24h"] = fa_events / duration_s * SECONDS_PER_DAY
    return d


def _summary(per_label: dict[str, dict[str, float]], duration_s: float, fa_events: float) -> dict[str, float]:
    tot = {
        k: sum(v[k] for v in per_label.values())
        for k in (
            "targets",
            "hits",
            "misses",
            "false_alarms",
            "tp",
            "tn",
            "fp",
            "fn",
            "insertions",
            "deletions",
        )
    }
    r = rates(tot["tp"], tot["tn"], tot["fp"], tot["fn"])
    # nedc_eeg_eval v6.0.0 divides the summary's 2 * PPV * TPR by the *last label's* PPV + TPR (a variable
    # left over from its per-label loop); we reproduce that as "f1" and give the harmonic mean beside it.
    last = list(per_label.values())[-1]
    denom = last["precision"] + last["sensitivity"]
    f1_nedc = 2 * r["precision"] * r["sensitivity"] / denom if denom else 0.0
    return {
        "f1": f1_nedc,
        "f1_harmonic": r["f1"],
        "total": tot["targets"],
        "hits": tot["hits"],
        "misses": tot["misses"],
        "false_alarms": tot["false_alarms"],
        "insertions": tot["insertions"],
        "deletions": tot["deletions"],
        "tp": tot["tp"],
        "fp": tot["fp"],
        "sensitivity": tot["hits"] / tot["targets"] if tot["targets"] else math.nan,
        "miss_rate": tot["misses"] / tot["targets"] if tot["targets"] else math.nan,
        "accuracy": r["accuracy"],
        "misclassification": r["misclassification"],
        "prevalence": r["prevalence"],
        "mcc": r["mcc"],
        "duration_s": duration_s,
        "total_false_alarms": fa_events,
        "fa_per_24h": fa_events / duration_s * SECONDS_PER_DAY,
    }


def _joint_runs(r: np.ndarray, h: np.ndarray) -> tuple[int, int]:
    """Runs of equal (reference, hypothesis) epoch label pairs: (runs that agree, runs that disagree).

    This is how ``nedc_eeg_eval`` reports one file's epoch scoring (``Hit`` and ``Sub``)."""
    if r.size == 0:
        return 0, 0
    change = np.flatnonzero((np.diff(r) != 0) | (np.diff(h) != 0)) + 1
    first = np.concatenate([[0], change])
    agree = int((r[first] == h[first]).sum())
    return agree, len(first) - agree


def _map_labels(ann, params: NedcParams, path) -> list:
    """Events with their symbols mapped to scoring classes; unknown symbols name the file and line.

    A per-channel file (TUSZ ``.csv``: rows name channels, background rows included) is reduced to one
    term-level annotation: its null-class rows are dropped, so a time is scored as the union of the non-null
    events over channels (normalisation then fills the rest with the null class)."""
    from biodyn.types import Event

    sym = params.symbols
    ann.check_labels(tuple(sym))
    events = [Event(e.onset_s, e.duration_s, sym[e.label], e.channels) for e in ann.events]
    if any(e.channels for e in events):
        events = [e for e in events if e.label != params.null_class]
    return events


def score_annotations(
    refs: Sequence,
    hyps: Sequence,
    methods: Sequence[str] = METHODS,
    labels: Sequence[str] | None = None,
    epoch_s: float | None = None,
    params: NedcParams | None = None,
    details: bool = False,
) -> dict[str, MethodResult]:
    """Score paired reference/hypothesis annotations with each method.

    ``refs`` and ``hyps`` are :class:`~biodyn.io.events.AnnotationFile` objects (events, duration, the
    source path for messages), read by :func:`biodyn.io.events.read_annotation_file`; every reference needs
    its duration.

    ``params`` (default :class:`NedcParams`) gives the label map, DP penalties and epoch duration;
    ``labels``/``epoch_s`` override the classes (identity map) and the epoch duration. Each result's
    ``per_file`` lists what NEDC prints per file (OVERLAP/TAES: hits, misses, false alarms summed over
    labels; DP: hits, substitutions, insertions, deletions; epoch: agreeing/disagreeing runs of epochs).
    With ``details`` the per-file rows also hold the label sequences NEDC prints (``ref_labels``/``hyp_labels``,
    the DP ``alignment`` pairs, the epoch ``runs``); :func:`format_per_file` prints them.
    """
    for m in methods:
        if m not in METHODS:
            raise ConfigError(f"invalid method={m!r}; implemented: {', '.join(METHODS)}")
    if len(refs) != len(hyps):
        raise ConfigError(f"{len(refs)} reference files but {len(hyps)} hypothesis files")
    params = params or NedcParams()
    if labels is not None:
        params = replace(params, label_map=tuple((lab, lab) for lab in labels))
    if epoch_s is not None:
        params = replace(params, epoch_s=float(epoch_s))
    labels = params.labels
    null = params.null_class
    epoch_s = params.epoch_s
    penalties = (params.penalty_del, params.penalty_ins, params.penalty_sub)
    event_methods = [m for m in ("dpalign", "overlap", "taes") if m in methods]
    counts = {m: {lab: Counts() for lab in labels} for m in event_methods}
    per_file: dict[str, list[dict]] = {m: [] for m in methods}
    dp_conf = np.zeros((len(labels), len(labels)))
    dp_insdel = {lab: {"ins": 0.0, "del": 0.0} for lab in labels}
    conf = np.zeros((len(labels), len(labels)))
    duration = 0.0
    for ra, ha in zip(refs, hyps):
        rf, hf = ra.path, ha.path
        if ra.duration_s is None:
            raise RecordingError(rf, "no '# duration = ... secs' header")
        if ha.duration_s is not None and abs(ha.duration_s - ra.duration_s) > 1e-3:
            raise RecordingError(
                hf,
                f"duration {ha.duration_s} s disagrees with the reference's {ra.duration_s} s ({getattr(rf, 'name', rf)})",
            )
        dur = ra.duration_s
        ref = normalize(_map_labels(ra, params, rf), dur, labels, null=null, source=rf)
        hyp = normalize(_map_labels(ha, params, hf), dur, labels, null=null, source=hf)
        duration += dur
        name = {"ref": str(rf), "hyp": str(hf)}
        for m, fn in (("overlap", score_overlap), ("taes", score_taes)):
            if m in methods:
                per = fn(ref, hyp, labels)
                f = Counts()
                for lab, c in per.items():
                    counts[m][lab] += c
                    f += c
                # NEDC's per-file "Total": OVERLAP hits + misses + false alarms; TAES misses + false alarms
                total = f.hits + f.misses + f.false_alarms if m == "overlap" else f.misses + f.false_alarms
                per_file[m].append(
                    {
                        **name,
                        "hits": f.hits,
                        "misses": f.misses,
                        "false_alarms": f.false_alarms,
                        "targets": f.targets,
                        "total": total,
                    }
                )
                if details:
                    per_file[m][-1]["ref_labels"] = [x.label for x in ref]
                    per_file[m][-1]["hyp_labels"] = [x.label for x in hyp]
        if "dpalign" in methods:
            per, cf, insdel = score_dpalign(ref, hyp, labels, penalties)
            dp_conf += cf
            for lab in labels:
                counts["dpalign"][lab] += per[lab]
                dp_insdel[lab]["ins"] += insdel[lab]["ins"]
                dp_insdel[lab]["del"] += insdel[lab]["del"]
            per_file["dpalign"].append(
                {
                    **name,
                    "hits": float(np.trace(cf)),
                    "substitutions": float(cf.sum() - np.trace(cf)),
                    "insertions": sum(v["ins"] for v in insdel.values()),
                    "deletions": sum(v["del"] for v in insdel.values()),
                }
            )
            d = per_file["dpalign"][-1]
            d["total"] = d["substitutions"] + d["insertions"] + d["deletions"]
            if details:
                d["alignment"] = dp_alignment(
                    [x.label for x in ref], [x.label for x in hyp], labels, penalties
                )
        if "epoch" in methods or "ira" in methods:
            r_ep = sample_epochs(ref, dur, epoch_s, labels)
            h_ep = sample_epochs(hyp, dur, epoch_s, labels)
            k = len(labels)
            conf += np.bincount(r_ep * k + h_ep, minlength=k * k).reshape(k, k)
            if "epoch" in methods:
                agree, disagree = _joint_runs(r_ep, h_ep)
                per_file["epoch"].append(
                    {
                        **name,
                        "hits": agree,
                        "substitutions": disagree,
                        "insertions": 0,
                        "deletions": 0,
                        "total": disagree,
                    }
                )
                if details:
                    first = np.concatenate(
                        [[0], np.flatnonzero((np.diff(r_ep) != 0) | (np.diff(h_ep) != 0)) + 1]
                    )
                    per_file["epoch"][-1]["runs"] = [(labels[r_ep[q]], labels[h_ep[q]]) for q in first]
    out: dict[str, MethodResult] = {}
    for m in event_methods:
        res = MethodResult(
            m, labels, confusion=dp_conf.tolist() if m == "dpalign" else None, per_file=per_file[m]
        )
        cm = counts[m]
        for lab in labels:
            c = cm[lab]
            tn = sum(cm[o].hits for o in labels if o != lab)
            ins, dele = (
                (dp_insdel[lab]["ins"], dp_insdel[lab]["del"])
                if m == "dpalign"
                else (c.false_alarms, c.misses)
            )
            res.per_label[lab] = _label_block(
                c, tn, c.false_alarms, c.misses, c.false_alarms, duration, ins, dele
            )
        res.summary = _summary(res.per_label, duration, sum(cm[lab].false_alarms for lab in labels))
        out[m] = res
    if "epoch" in methods:
        res = MethodResult("epoch", labels, confusion=conf.tolist(), per_file=per_file["epoch"])
        total = conf.sum()
        fa_total = 0.0
        for i, lab in enumerate(labels):
            tp = conf[i, i]
            fn, fp = conf[i].sum() - tp, conf[:, i].sum() - tp
            tn = total - tp - fn - fp
            is_null = lab == null  # the null class has no insertions/deletions, so no false alarms
            c = Counts(conf[i].sum(), tp, fn, 0.0 if is_null else fp)
            # NEDC reports epoch false alarms in units of time: epochs * epoch_s seconds per 24 h
            res.per_label[lab] = _label_block(
                c, tn, fp, fn, fp * epoch_s, duration, c.false_alarms, 0.0 if is_null else fn
            )
            fa_total += fp
        res.summary = _summary(res.per_label, duration, fa_total * epoch_s)
        res.summary["total_false_alarms"] = fa_total  # NEDC prints the count of epochs here
        out["epoch"] = res
    if "ira" in methods:
        out["ira"] = MethodResult(
            "ira",
            labels,
            confusion=conf.tolist(),
            kappa={
                **dict(zip(labels, per_label_kappa(conf))),
                "multi_class": cohen_kappa_from_confusion(conf),
            },
        )
    return {m: out[m] for m in METHODS if m in out}


_TITLES = {
    "dpalign": ("DP ALIGNMENT SCORING", "DPAlign"),
    "epoch": ("EPOCH SCORING", "Epoch"),
    "overlap": ("OVERLAP SCORING", None),
    "taes": ("TAES SCORING", None),
    "ira": ("INTER-RATER AGREEMENT", "IRA"),
}
_COUNT_LINES = (
    ("targets", "Targets"),
    ("hits", "Hits"),
    ("misses", "Misses"),
    ("false_alarms", "False Alarms"),
    ("insertions", "Insertions"),
    ("deletions", "Deletions"),
)
_RATE_LINES = (
    ("sensitivity", "Sensitivity (TPR, Recall)"),
    ("specificity", "Specificity (TNR)"),
    ("precision", "Precision (PPV)"),
    ("npv", "Negative Pred. Value (NPV)"),
    ("miss_rate", "Miss Rate (FNR)"),
    ("fpr", "False Positive Rate (FPR)"),
    ("fdr", "False Discovery Rate (FDR)"),
    ("for", "False Omission Rate (FOR)"),
    ("accuracy", "Accuracy"),
    ("misclassification", "Misclassification Rate"),
    ("prevalence", "Prevalence"),
)


_TOTAL_MARKED = {("total", "overlap"), ("total", "taes")}


def _line(name: str, text: str) -> str:
    return f"{name:>33s}: {text}"


def format_summary(results: dict[str, MethodResult]) -> str:
    """A summary laid out like NEDC ``nedc_eeg_eval`` v6.0.0's ``summary.txt``: per method the confusion
    matrix (DP, epoch, IRA), per-label counts and rates, then the totals, at NEDC's printed precision
    (TAES counts to 2 decimals, the others as integers; ``<**`` marks the counts each method scores)."""
    lines = []
    for m in sorted(results, key=METHODS.index):
        res = results[m]
        title, cm_name = _TITLES[m]
        lines += ["=" * 78, f"NEDC {title} SUMMARY (biodyn, nedc_eeg_eval v6.0.0 rules):", ""]
        if cm_name is not None and res.confusion is not None:
            cm_title = f"NEDC {cm_name} Confusion Matrix"
            pad = 52 - len(cm_title)
            lines.append(" " * ((pad + 1) // 2) + cm_title + " " * (pad // 2))
            lines.append("  Ref/Hyp:" + "".join(f"{lab:>13s}{'':9s}" for lab in res.labels))
            for i, lab in enumerate(res.labels):
                row = res.confusion[i]
                tot = sum(row)
                lines.append(
                    f"{lab:>9s}:" + "".join(f"{v:12.2f} ({100 * v / tot if tot else 0.0:6.2f}%)" for v in row)
                )
            lines.append("")
        lines.append("PER LABEL RESULTS:")
        if res.kappa is not None:
            for lab in res.labels:
                lines.append(f" Label: {lab:<6s} Kappa: {res.kappa[lab]:12.4f}")
            lines += ["", "SUMMARY:", f"   Multi-Class Kappa: {res.kappa['multi_class']:12.4f}", ""]
            continue
        lines.append("")

        def num(v: float, fractional: bool = m == "taes") -> str:
            return f"{v:12.2f}" if fractional else f"{round(v):12d}"

        marked = {"dpalign": ("insertions", "deletions"), "epoch": ()}.get(
            m, ("targets", "hits", "misses", "false_alarms")
        )
        for lab, d in res.per_label.items():
            lines += [f" LABEL: {lab.upper()}", ""]
            for key, name in _COUNT_LINES:
                lines.append(_line(name, num(d[key]) + ("   <**" if key in marked else "")))
            lines.append("")
            for key, name in (
                ("tp", "True Positives (TP)"),
                ("tn", "True Negatives (TN)"),
                ("fp", "False Positives (FP)"),
                ("fn", "False Negatives (FN)"),
            ):
                lines.append(_line(name, num(d[key])))
            lines.append("")
            for key, name in _RATE_LINES:
                lines.append(_line(name, f"{100 * d[key]:12.4f}%"))
            lines.append(_line("F1 Score (F Ratio)", f"{d['f1']:12.4f}"))
            lines.append(_line("Matthews (MCC)", f"{d['mcc']:12.4f}"))
            lines.append(_line("False Alarm Rate", f"{d['fa_per_24h']:12.4f} per 24 hours"))
            lines.append("")
        s = res.summary
        lines += ["SUMMARY:", ""]
        for key, name in (("total", "Total"), *_COUNT_LINES[1:]):
            lines.append(
                _line(name, num(s[key]) + ("   <**" if key in marked or (key, m) in _TOTAL_MARKED else ""))
            )
        lines += [
            "",
            _line("True Positives(TP)", num(s["tp"])),
            _line("False Positives (FP)", num(s["fp"])),
            "",
        ]
        for key, name in (
            ("sensitivity", "Sensitivity (TPR, Recall)"),
            ("miss_rate", "Miss Rate (FNR)"),
            ("accuracy", "Accuracy"),
            ("misclassification", "Misclassification Rate"),
            ("prevalence", "Prevalence"),
        ):
            lines.append(_line(name, f"{100 * s[key]:12.4f}%"))
        lines.append(_line("F1 Score", f"{s['f1']:12.4f}"))
        lines.append(_line("Matthews (MCC)", f"{s['mcc']:12.4f}"))
        lines += [
            "",
            _line("Total Duration", f"{s['duration_s']:12.4f} secs"),
            _line("Total False Alarms", f"{s['total_false_alarms']:12.4f} events"),
            _line("Total False Alarm Rate", f"{s['fa_per_24h']:12.4f} per 24 hours"),
            "",
        ]
    lines.append("=" * 78)
    return "\n".join(lines)


def format_per_file(result: MethodResult) -> str:
    """One block per file pair laid out like NEDC's ``summary_{ovlp,taes,dpalign,epoch}.txt`` (needs
    ``score_files(..., details=True)``). DP and epoch tokens are upper case where the pair disagrees;
    ``***`` marks the empty side of an insertion or deletion."""
    m = result.method
    if m not in ("overlap", "taes", "dpalign", "epoch"):
        raise ConfigError(f"no per-file report for method={m!r}")
    out = []
    for k, row in enumerate(result.per_file):
        out += [f"{k:5d}: {row['ref']}", f"{'':7s}{row['hyp']}"]
        if m in ("overlap", "taes"):
            if "ref_labels" not in row:
                raise ConfigError("per-file labels missing: score with details=True")
            hyp = " ".join(row["hyp_labels"]) if m == "overlap" else ""  # NEDC leaves TAES's line empty
            out += ["  Ref: " + " ".join(row["ref_labels"]), "  Hyp: " + hyp]
            if m == "overlap":
                out.append(
                    f"{'':7s}(Hit: {round(row['hits'])}  Miss: {round(row['misses'])}  "
                    f"False Alarms: {round(row['false_alarms'])}  Total: {round(row['total'])})"
                )
            else:
                out.append(
                    f"{'':7s}(Hit: {row['hits']:.4f}  Miss: {row['misses']:.4f}  "
                    f"False Alarms: {row['false_alarms']:.4f}  Total: {row['total']:.4f})"
                )
        else:
            pairs = row.get("alignment" if m == "dpalign" else "runs")
            if pairs is None:
                raise ConfigError("per-file alignment missing: score with details=True")
            ref_t, hyp_t = [], []
            for x, y in pairs:
                bad = x != y
                ref_t.append("***" if x is None else x.upper() if bad else x)
                hyp_t.append("***" if y is None else y.upper() if bad else y)
            out += [
                "  Ref: " + "".join(f"{t:>5s} " for t in ref_t),
                "  Hyp: " + "".join(f"{t:>5s} " for t in hyp_t),
            ]
            out.append(
                f"{'':8s}(Hit: {round(row['hits'])}  Sub: {round(row['substitutions'])}  "
                f"Ins: {round(row['insertions'])}  Del: {round(row['deletions'])}  Total: {round(row['total'])})"
            )
        out.append("")
    return "\n".join(out) + "\n"
