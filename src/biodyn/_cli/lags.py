"""``biodyn lags RECORDING --out DIR [--json OUT]``: fit a lag graph, write JSON + a PNG (scalp or ECG leads).

The work is :func:`biodyn.causal.recording.fit_recording`; this module reads the input, checks the flags,
shows progress and prints the result (see docs/lags.md).
"""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument(
        "recording",
        help=".edf/.bdf, a WFDB record (.hea or its name), or .npy (C, T) with --fs and --channels",
    )
    p.add_argument("--out", required=True, help="output folder (lag_graph.json, lag_graph.png)")
    p.add_argument("--fs", type=float, help="sampling rate of a .npy recording (Hz)")
    p.add_argument(
        "--channels",
        help="comma-separated names: of every row of a .npy recording; for EDF/WFDB the "
        "channels to keep, in this order",
    )
    p.add_argument("--start", type=float, default=0.0, help="first second to use (default 0)")
    p.add_argument("--stop", type=float, help="last second to use (default: the end)")
    p.add_argument(
        "--preset",
        default="auto",
        choices=("auto", "eeg", "ecg", "ecg_sem"),
        help="band, fitting rate, delay range and model by modality (auto: ecg when every channel is "
        "a standard ECG lead, else eeg; see docs/lags.md)",
    )
    p.add_argument(
        "--tau-max-s",
        type=float,
        help="largest delay considered (s; default: the preset's, eeg 0.05, ecg 0.04)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=500,
        help="iteration limit of the refinement (it stops on convergence; default 500)",
    )
    p.add_argument(
        "--stability",
        type=int,
        default=8,
        metavar="N",
        help="sub-window refits for edge confidence and ranking stability (0: none; default 8)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="jitter of the initial delays (a converged fit ignores it)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", metavar="OUT", help="also write the summary (ranking, edges, stability) as JSON")
    p.add_argument(
        "--checkpoint", metavar="DIR", help="a trained CLD-Trans (amortised lags) instead of the fit"
    )


def _names(arg: str) -> list[str]:
    from biodyn.errors import ConfigError

    names = [c.strip() for c in arg.split(",")]
    if any(not n for n in names):
        raise ConfigError(f"--channels {arg!r} has an empty name; give comma-separated channel names")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(
            f"--channels names {', '.join(dup)} more than once; every channel needs its own name"
        )
    return names


def _load_npy(path, args):
    import numpy as np

    from biodyn.errors import ConfigError, RecordingError

    if args.fs is None or args.channels is None:
        raise ConfigError(f"{path}: a .npy recording needs --fs (Hz) and --channels (one name per row)")
    if not (np.isfinite(args.fs) and args.fs > 0):
        raise ConfigError(f"invalid --fs {args.fs:g}; allowed: a positive sampling rate in Hz")
    channels = _names(args.channels)
    if not path.is_file():
        raise RecordingError(path, "file not found")
    with open(path, "rb") as fh:
        if fh.read(6) != b"\x93NUMPY":
            raise RecordingError(path, "not a NumPy .npy array file (np.save writes one)")
    try:
        data = np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise RecordingError(
                path,
                "holds Python objects, which biodyn never unpickles; save a numeric "
                "(C, T) array with np.save",
            ) from None
        raise RecordingError(path, "not a NumPy .npy array file (np.save writes one)") from None
    except (OSError, EOFError):
        raise RecordingError(path, "not a NumPy .npy array file (np.save writes one)") from None
    if not isinstance(data, np.ndarray) or data.dtype.kind not in "fiu":
        raise RecordingError(
            path, f"holds a {getattr(data, 'dtype', type(data))} array; expected numbers (C, T)"
        )
    return data, float(args.fs), channels


def _pick(data, names: list[str], wanted: list[str], path):
    """Rows of ``data`` named ``wanted`` (matched exactly, then case-insensitively and by canonical name)."""
    from biodyn.errors import ChannelError
    from biodyn.montage import canonical_name

    def key(n):
        return canonical_name(n).lower()

    exact = {n: k for k, n in enumerate(names)}
    loose: dict[str, int] = {}
    for k, n in enumerate(names):
        loose.setdefault(key(n), k)
    idx, missing = [], []
    for w in wanted:
        k = exact.get(w, loose.get(key(w)))
        (missing.append(w) if k is None else idx.append(k))
    if missing:
        raise ChannelError(path, f"no channel(s) {', '.join(missing)}; the recording has {', '.join(names)}")
    return data[idx], [names[k] for k in idx]


def load_input(args):
    """``(data (C, T), fs, channels)`` from any supported input, with ``--channels``, ``--start``, ``--stop``."""
    from pathlib import Path

    from biodyn.errors import ConfigError

    path = Path(args.recording)
    if path.suffix.lower() == ".npy":
        data, fs, channels = _load_npy(path, args)
    else:
        from biodyn.io import read_recording

        if args.fs is not None:
            raise ConfigError(f"--fs is only for .npy recordings; {path.name} states its own rate")
        rec = read_recording(path)
        data, fs, channels = rec.data, rec.fs, list(rec.channels)
        if args.channels:
            data, channels = _pick(data, channels, _names(args.channels), path)
    if data.ndim == 2 and data.shape[0] != len(channels):
        from biodyn.causal.recording import check_lag_input

        # raises, with the transpose hint
        check_lag_input(data, fs, channels, args.tau_max_s or 0.05, str(path))
    n = data.shape[-1]
    if n == 0 or data.size == 0:  # the recording's fault, not --start's
        from biodyn.errors import RecordingError

        raise RecordingError(path, f"holds no samples (shape {tuple(data.shape)})")
    dur = n / fs
    start, stop = args.start, dur if args.stop is None else args.stop
    if not (0 <= start < dur):
        raise ConfigError(
            f"invalid --start {start:g}; allowed: 0 <= start < {dur:g} s (the recording's length)"
        )
    if not (start < stop <= dur + 1e-9):
        raise ConfigError(
            f"invalid --stop {stop:g}; allowed: {start:g} < stop <= {dur:g} s (the recording's length)"
        )
    data = data[..., round(start * fs) : round(stop * fs)]
    return path, data, fs, channels


class _Bar:
    """A rich progress bar over the fit's stages (stderr)."""

    def __init__(self, enabled: bool):
        self.progress = None
        self.tasks: dict[str, int] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description:>10s}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=max(total, done))


def run(args) -> int:
    import warnings
    from pathlib import Path

    from biodyn._cli._common import write_json
    from biodyn.atomic import atomic_write_json
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.causal.recording import fit_recording
    from biodyn.errors import ConfigError
    from biodyn.rundir import check_out_dir, check_out_file

    check_out_dir(args.out, "--out")  # before the fit, not after it
    if args.json:
        check_out_file(args.json, "--json")
    for flag, value, ok in (
        ("--steps", args.steps, args.steps >= 1),
        ("--stability", args.stability, args.stability >= 0),
        ("--tau-max-s", args.tau_max_s, args.tau_max_s is None or args.tau_max_s > 0),
    ):
        if not ok:
            raise ConfigError(
                f"invalid {flag} {value}; allowed: {'>= 1' if flag == '--steps' else '>= 0' if flag == '--stability' else '> 0 s'}"
            )
    path, data, fs, channels = load_input(args)
    if args.checkpoint:
        return _run_checkpoint(args, path, data, fs, channels)
    with warnings.catch_warnings(record=True) as caught, _Bar(not args.no_progress) as bar:
        warnings.simplefilter("always")
        fit = fit_recording(
            data,
            fs,
            channels,
            args.tau_max_s,
            args.steps,
            preset=args.preset,
            stability=args.stability,
            seed=args.seed,
            progress=bar,
            source=str(path),
        )
    for w in caught:  # held while the progress bar ran; now through biodyn's one-line display
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for d in fit.dropped:
        print(f"left out {d['channel']}: {d['reason']}")
    out = path_out = Path(args.out)
    result = {
        **fit.to_dict(),
        "recording": str(path),
        "start_s": args.start,
        "stop_s": args.stop if args.stop is not None else data.shape[-1] / fs + args.start,
    }
    atomic_write_json(out / "lag_graph.json", result)
    ranking, lead = fit.focal_ranking(), fit.focal_lead()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_lag_graph(fit, out / "lag_graph.png", title=path.name)
    for w in caught:  # held while the progress bar ran; now through biodyn's one-line display
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    status = (
        f"converged in {fit.n_iter} iterations"
        if fit.converged
        else f"NOT converged after {fit.n_iter} iterations"
    )
    print(
        f"{path.name} ({fit.preset} preset): {len(fit.graph.edges())} lagged edges, {len(fit.instantaneous_edges())} zero-lag couplings; "
        f"{status}, {fit.fit_s:.1f} s"
    )
    unranked = fit.unranked()
    if lead is None:
        print(fit.focal_lead_note())
    else:
        groups = fit.focal_groups()[:-1] if unranked else fit.focal_groups()
        line = f"focal lead {lead}; ranking (earliest first, '=' joins ties): {_groups(groups)}"
        if fit.stability:
            st = fit.stability
            line += (
                f"  (first in {100 * st['focal_first_share']:.0f} % of {st['n_windows']} sub-windows; "
                f"median Spearman to the full ranking {_rho(st['ranking_spearman_median'])})"
            )
        print(line)
    if unranked and len(unranked) < len(fit.channels):  # the delays say nothing about them: not ranked
        print(f"unranked (no identified edge): {', '.join(unranked)}")
    for e in fit.edges()[:10]:
        if e["at_ceiling"]:
            flags = " AT CEILING (not identified)"
        elif not e["identified"]:
            flags = " NOT IDENTIFIED (delay spread over half the range)"
        else:
            flags = " at floor" if e.get("at_floor") else ""
        conf = f"  confidence {e['confidence']:.2f}" if "confidence" in e else ""
        spread = (
            f" [{e['tau_s_q05'] * 1e3:.1f}-{e['tau_s_q95'] * 1e3:.1f}]"
            if e.get("tau_s_q05") is not None and e.get("tau_s_q95") is not None
            else ""
        )
        print(
            f"  {e['source']:>10s} -> {e['target']:<10s} tau {e['tau_s'] * 1e3:6.1f} ms{spread}  weight {e['weight']:+.3f}"
            f"{conf}{flags}"
        )
    for e in fit.instantaneous_edges()[:5]:
        print(f"  {e['a']:>10s} -- {e['b']:<10s} zero lag, partial correlation {e['partial_corr']:+.2f}")
    print(f"wrote {path_out / 'lag_graph.json'} and {path_out / 'lag_graph.png'}")
    write_json(
        args.json,
        {
            "focal_lead": lead,
            "focal_lead_note": fit.focal_lead_note(),
            "focal_ranking": ranking,
            "focal_groups": fit.focal_groups(),
            "unranked": fit.unranked(),
            "edges": fit.edges(),
            "instantaneous_edges": fit.instantaneous_edges(),
            "stability": fit.stability,
            "dropped_channels": fit.dropped,
            "converged": fit.converged,
            "preset": fit.preset,
            "recording": str(path),
        },
    )
    return 0


def _rho(v) -> str:
    """A Spearman correlation to two decimals, ``undefined`` when there is none (NaN, or None from JSON)."""
    return "undefined" if v is None or v != v else f"{v:.2f}"


def _groups(groups: list[list[str]], limit: int = 8) -> str:
    """``A, B = C, D``: the focal ranking with ties joined by ``=`` (the first ``limit`` channels)."""
    out, n = [], 0
    for g in groups:
        if n >= limit:
            out.append("...")
            break
        out.append(" = ".join(g))
        n += len(g)
    return ", ".join(out)


def _run_checkpoint(args, path, data, fs: float, channels: list[str]) -> int:
    """``--checkpoint DIR``: the lag graph a trained CLD-Trans infers for this recording (no per-recording fit)."""
    from pathlib import Path

    from biodyn._cli._common import write_json
    from biodyn.atomic import atomic_write_json
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.systems.cldtrans import lags_from_checkpoint

    graph = lags_from_checkpoint(data, fs, channels, args.checkpoint)
    out = Path(args.out)
    ranking, lead = graph.focal_ranking(), graph.focal_lead()
    note = None
    if lead is None:
        note = (
            "no focal lead: no identified edge"
            if not graph.edges()
            else f"no focal lead: tie between {', '.join(graph.focal_groups()[0])}"
        )
    summary = {
        "focal_lead": lead,
        "focal_lead_note": note,
        "focal_ranking": ranking,
        "focal_groups": graph.focal_groups(),
    }
    result = {
        **graph.to_dict(),
        **summary,
        "recording": str(path),
        "checkpoint": str(args.checkpoint),
        "tau_max_s": args.tau_max_s,
    }
    atomic_write_json(out / "lag_graph.json", result)
    plot_lag_graph(graph, out / "lag_graph.png", title=f"{path.name} (CLD-Trans)")
    print(
        f"{path.name}: {len(graph.edges())} edges from CLD-Trans {args.checkpoint}; "
        + (note if lead is None else f"focal lead {lead}; ranking: {_groups(graph.focal_groups())}")
    )
    print(f"wrote {out / 'lag_graph.json'} and {out / 'lag_graph.png'}")
    write_json(
        args.json,
        {**summary, "edges": graph.edges(), "recording": str(path), "checkpoint": str(args.checkpoint)},
    )
    return 0
