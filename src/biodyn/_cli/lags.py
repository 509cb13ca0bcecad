"""``biodyn lags RECORDING --out DIR [--json OUT]``: fit a lag graph, write JSON + a scalp PNG."""

from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("recording", help=".edf/.bdf, or .npy (C, T) with --fs and --channels")
    p.add_argument("--out", required=True, help="output folder (lag_graph.json, lag_graph.png)")
    p.add_argument("--fs", type=float, help="sampling rate of a .npy recording (Hz)")
    p.add_argument("--channels", help="comma-separated channel names of a .npy recording")
    p.add_argument("--tau-max-s", type=float, default=0.05, help="largest delay considered (s, default 0.05)")
    p.add_argument("--steps", type=int, default=200, help="refinement steps")
    p.add_argument("--json", metavar="OUT", help="also write the summary (ranking, edges) as JSON")


def fit_recording(data, fs: float, channels: list[str], tau_max_s: float = 0.05, steps: int = 200):
    """Band-pass (0.5-40 Hz), z-score, drop channels that duplicate another (|r| > 0.9999), fit; returns the
    LagGraph over the kept channels. Data ``(C, T)``."""
    import numpy as np

    from biodyn.causal.fit import FitConfig, fit_ldsem
    from biodyn.signal import PreprocessConfig, preprocess

    x, fs = preprocess(data, fs, PreprocessConfig(l_freq=0.5, h_freq=min(40.0, 0.45 * fs), zscore=True))
    # a channel that repeats another (CHB-MIT lists T8-P8 twice, and P7-T7 = -(T7-P7)) carries no information
    corr = np.abs(np.corrcoef(x))
    keep = [k for k in range(len(x)) if not (corr[k, :k] > 0.9999).any()]
    return fit_ldsem(
        x[keep], fs, [channels[k] for k in keep], FitConfig(tau_max_samples=tau_max_s * fs, steps=steps)
    )


def run(args) -> int:
    from pathlib import Path

    import numpy as np

    from biodyn._cli._common import write_json
    from biodyn.atomic import atomic_write_json
    from biodyn.causal.plot import plot_lag_graph
    from biodyn.errors import ConfigError, RecordingError

    path = Path(args.recording)
    if path.suffix == ".npy":
        if not args.fs or not args.channels:
            raise ConfigError("a .npy recording needs --fs and --channels")
        try:
            data = np.load(path)
        except (OSError, ValueError) as e:
            raise RecordingError(path, f"cannot read: {e}") from None
        channels = [c.strip() for c in args.channels.split(",")]
        if data.ndim != 2 or data.shape[0] != len(channels):
            raise RecordingError(
                path, f"array {data.shape} does not match {len(channels)} channel names (C, T)"
            )
        fs = args.fs
    else:
        from biodyn.io import read_recording

        rec = read_recording(path)
        data, fs, channels = rec.data, rec.fs, rec.channels
    graph = fit_recording(data, fs, channels, args.tau_max_s, args.steps)
    out = Path(args.out)
    ranking = graph.focal_ranking()
    result = {
        **graph.to_dict(),
        "focal_ranking": ranking,
        "recording": str(path),
        "tau_max_s": args.tau_max_s,
    }
    atomic_write_json(out / "lag_graph.json", result)
    plot_lag_graph(
        graph, out / "lag_graph.png", title=f"{path.name}: focal lead {ranking[0] if ranking else '-'}"
    )
    print(f"{path.name}: {len(graph.edges())} edges; focal-lead ranking: {', '.join(ranking[:5])}")
    for e in graph.edges()[:10]:
        print(
            f"  {e['source']:>10s} -> {e['target']:<10s} tau {e['tau_s'] * 1e3:6.1f} ms  weight {e['weight']:+.3f}"
        )
    print(f"wrote {out / 'lag_graph.json'} and {out / 'lag_graph.png'}")
    write_json(args.json, {"focal_ranking": ranking, "edges": graph.edges(), "recording": str(path)})
    return 0
