#!/usr/bin/python3
"""forecast-peer.py: the statsmodels peer of t/bench/forecast.

Auto-order ARIMA with statsmodels, on the same rolling origins as
forecast-bench's "sampled" subset (every STRIDE-th origin from the first full
window on): d in {0, 1} from the KPSS test (statsmodels' kpss, level, with the
lag truncation trunc(3 sqrt(n) / 13) and the 5% critical value, as R's
forecast::ndiffs does), then ARIMA(p,d,q) for p <= 4, q <= 2 fitted by exact
maximum likelihood (statsmodels.tsa.arima.model.ARIMA, with a constant when
d = 0), the lowest AICc chosen. Prints the same ACC lines as forecast-bench:

  ACC name statsmodels origins naive_h1 sm_h1 naive_hH sm_hH cov_h1 cov_hH

and a TIME line with the median seconds per origin (whole order search).
"""
import argparse
import math
import multiprocessing
import os
import sys
import time
import warnings

import numpy as np


def load(path):
    values = []
    with open(path) as f:
        for line in f:
            try:
                values.append(float(line.rsplit(",", 1)[1]))
            except (IndexError, ValueError):
                continue  # the header
    return np.array(values)


def choose_d(win):
    from statsmodels.tsa.stattools import kpss

    if np.ptp(win) == 0:
        return 0
    lags = int(3 * math.sqrt(len(win)) / 13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stat = kpss(win, regression="c", nlags=lags)[0]
    return 1 if stat > 0.463 else 0


def fit_auto(win, horizon, coverage):
    """The lowest-AICc ARIMA forecast: (mean, lower, upper) arrays."""
    from statsmodels.tsa.arima.model import ARIMA

    if np.ptp(win) == 0:
        flat = np.full(horizon, win[-1])
        return flat, flat, flat
    d = choose_d(win)
    best = None
    for p in range(5):
        for q in range(3):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    res = ARIMA(win, order=(p, d, q),
                                trend="c" if d == 0 else "n").fit()
                except Exception:
                    continue
            if not np.isfinite(res.aicc):
                continue
            if best is None or res.aicc < best.aicc:
                best = res
    if best is None:
        flat = np.full(horizon, win[-1])
        return flat, flat, flat
    fc = best.get_forecast(horizon)
    ci = fc.conf_int(alpha=1 - coverage)
    return fc.predicted_mean, ci[:, 0], ci[:, 1]


def evaluate(job):
    path, window, horizon, stride, coverage = job
    x = load(path)
    scale = np.mean(np.abs(np.diff(x)))
    name = os.path.splitext(os.path.basename(path))[0]
    sums = np.zeros(4)
    hits = np.zeros(2)
    times = []
    origins = 0
    for t in range(window - 1, len(x) - horizon, stride):
        win = x[t - window + 1:t + 1]
        t0 = time.perf_counter()
        mean, lo, hi = fit_auto(win, horizon, coverage)
        times.append(time.perf_counter() - t0)
        y1, yh = x[t + 1], x[t + horizon]
        sums += [abs(y1 - x[t]), abs(y1 - mean[0]), abs(yh - x[t]),
                 abs(yh - mean[-1])]
        hits += [lo[0] <= y1 <= hi[0], lo[-1] <= yh <= hi[-1]]
        origins += 1
    mase = sums / (origins * scale)
    return ("ACC\t%s\tstatsmodels\t%d\t%.4f\t%.4f\t%.4f\t%.4f\t%.3f\t%.3f\n"
            "TIME\t%s\t%.4f\n" % ((name, origins) + tuple(mase) +
                                  tuple(hits / origins) +
                                  (name, float(np.median(times)))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--window", type=int, default=120)
    ap.add_argument("--horizon", type=int, default=6)
    ap.add_argument("--stride", type=int, default=10)
    ap.add_argument("--coverage", type=float, default=0.8)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    jobs = [(f, a.window, a.horizon, a.stride, a.coverage) for f in a.files]
    if a.jobs > 1:
        with multiprocessing.Pool(a.jobs) as pool:
            for out in pool.imap(evaluate, jobs):
                sys.stdout.write(out)
                sys.stdout.flush()
    else:
        for job in jobs:
            sys.stdout.write(evaluate(job))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
