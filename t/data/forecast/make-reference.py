#!/usr/bin/python3
"""Regenerates the fixtures and expected values of t/check_forecast.c.

Run from the repository root (not run by CI; its outputs are committed):

    /usr/bin/python3 t/data/forecast/make-reference.py [--nab ../shared/data/nab]

Needs Debian's python3-statsmodels (0.13.5 was used), python3-scipy and
python3-numpy. Writes into t/data/forecast/:

  rds-cpu.csv       NAB rds_cpu_utilization_cc0c53.csv, data rows 1001-1240
  machine-temp.csv  NAB machine_temperature_system_failure.csv, rows 3001-3120
  ec2-cpu.csv       NAB ec2_cpu_utilization_5f5533.csv, rows 1001-1300
  ec2-net.csv       NAB ec2_network_in_257a54.csv, rows 1001-1220
  sim-arma.txt      1000 samples of ARMA(2,1), phi (0.6, -0.2), theta 0.4,
                    mean 10, unit innovations (numpy seed 42)
  sim-arima.txt     500 samples of ARIMA(1,1,1), phi 0.5, theta -0.3,
                    from 50 (numpy seed 7)
  expected.txt      "name: values" lines, each produced as commented below
"""
import argparse
import math
import os
import sys
import warnings

import numpy as np
import scipy
import scipy.optimize
import scipy.stats
import statsmodels
from statsmodels.regression.linear_model import burg
from statsmodels.tsa.ar_model import AutoReg
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma2ma, arma_generate_sample
from statsmodels.tsa.stattools import kpss

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 5  # first residual of the conditional sum of squares (FC_MAX_P + 1)


def excerpt(nab, name, first, count, out):
    with open(os.path.join(nab, name)) as f:
        lines = f.read().splitlines()
    with open(os.path.join(HERE, out), "w") as f:
        f.write(lines[0] + "\n")
        f.write("\n".join(lines[first:first + count]) + "\n")
    return np.array([float(l.split(",")[1]) for l in lines[first:first + count]])


def css_residuals(w, phi, theta):
    """The residuals fc_css computes: zero before T0, no gaps."""
    e = np.zeros(len(w))
    for t in range(T0, len(w)):
        pred = sum(phi[i] * w[t - 1 - i] for i in range(len(phi)))
        pred += sum(theta[j] * e[t - 1 - j] for j in range(len(theta)))
        e[t] = w[t] - pred
    return e[T0:]


def fmt(values):
    return " ".join("%.17g" % v for v in values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nab", default="../shared/data/nab")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    out = []

    def put(name, values, how):
        out.append("# " + how)
        out.append("%s: %s" % (name, fmt(values)))

    rds = excerpt(a.nab, "rds_cpu_utilization_cc0c53.csv", 1001, 240,
                  "rds-cpu.csv")
    temp = excerpt(a.nab, "machine_temperature_system_failure.csv", 3001, 120,
                   "machine-temp.csv")
    excerpt(a.nab, "ec2_cpu_utilization_5f5533.csv", 1001, 300, "ec2-cpu.csv")
    excerpt(a.nab, "ec2_network_in_257a54.csv", 1001, 220, "ec2-net.csv")

    np.random.seed(42)
    sim = 10 + arma_generate_sample([1, -0.6, 0.2], [1, 0.4], 1000, burnin=200)
    np.savetxt(os.path.join(HERE, "sim-arma.txt"), sim, fmt="%.17g")
    np.random.seed(7)
    dsim = arma_generate_sample([1, -0.5], [1, -0.3], 500, burnin=200)
    dsim = 50 + np.cumsum(dsim)
    np.savetxt(os.path.join(HERE, "sim-arima.txt"), dsim, fmt="%.17g")

    # Burg AR(1..4) on the first 120 samples of rds-cpu, demeaned.
    for p in range(1, 5):
        ar, sigma2 = burg(rds[:120], order=p, demean=True)
        put("burg_rds_%d" % p, list(ar) + [sigma2],
            "statsmodels.regression.linear_model.burg(rds[:120], order=%d, "
            "demean=True): phi..., sigma2" % p)

    # KPSS level statistic with the ndiffs lag truncation.
    lags = int(3 * math.sqrt(120) / 13)
    for name, x in (("rds", rds[:120]), ("temp", temp)):
        put("kpss_%s" % name, [kpss(x, regression="c", nlags=lags)[0], lags],
            "statsmodels.tsa.stattools.kpss(%s, regression='c', nlags=%d)"
            "[0], nlags" % (name, lags))

    # Conditional least squares AR(p): AutoReg on the demeaned series with
    # the same first residual (hold_back = T0).
    w = sim[:300] - sim[:300].mean()
    for p in (1, 2):
        res = AutoReg(w, lags=p, trend="n", hold_back=T0).fit()
        put("ar_css_sim_%d" % p, list(res.params) + [np.sum(res.resid ** 2)],
            "AutoReg(sim[:300] - mean, lags=%d, trend='n', hold_back=%d)"
            ".fit(): params, sum of squared residuals" % (p, T0))

    # Conditional sum of squares ARMA(p,q) minimised by scipy (MINPACK
    # Levenberg-Marquardt) from zero, on the same objective.
    for p, q in ((1, 1), (2, 1), (1, 2)):
        f = lambda b: css_residuals(w, b[:p], b[p:])
        res = scipy.optimize.least_squares(f, np.zeros(p + q), method="lm",
                                           xtol=1e-15, ftol=1e-15, gtol=1e-15)
        put("arma_css_sim_%d_%d" % (p, q), list(res.x) + [np.sum(res.fun ** 2)],
            "scipy.optimize.least_squares(CSS residuals of ARMA(%d,%d) on "
            "sim[:300] - mean, t0=%d, method='lm'): phi, theta, sse"
            % (p, q, T0))

    # Exact maximum likelihood on the whole simulated series.
    res = ARIMA(sim, order=(2, 0, 1), trend="c").fit()
    put("arma_mle_sim", res.params,
        "ARIMA(sim, order=(2,0,1), trend='c').fit().params: const, phi1, "
        "phi2, theta1, sigma2")
    fc = res.get_forecast(6)
    put("arma_mle_sim_forecast", fc.predicted_mean,
        "same fit: get_forecast(6).predicted_mean")

    # Forecasts and 80% intervals with fixed parameters (Kalman filter).
    for key, x, xname, order, trend, fixed in (
            ("forecast_sim_201", sim[:500], "sim[:500]", (2, 0, 1), "c",
             [10.0, 0.6, -0.2, 0.4, 1.0]),
            ("forecast_sim_111", dsim, "sim_arima", (1, 1, 1), "n",
             [0.5, -0.3, 1.0])):
        fc = ARIMA(x, order=order, trend=trend).filter(fixed).get_forecast(6)
        ci = fc.conf_int(alpha=0.2)
        put(key, list(fc.predicted_mean) + list(ci[:, 0]) + list(ci[:, 1]),
            "ARIMA(%s, order=%s, trend='%s').filter(%s).get_forecast(6): "
            "mean x6, 80%% lower x6, upper x6" % (xname, order, trend, fixed))

    put("psi_201", arma2ma([1, -0.6, 0.2], [1, 0.4], lags=10),
        "statsmodels.tsa.arima_process.arma2ma([1, -0.6, 0.2], [1, 0.4], "
        "lags=10)")

    probs = [0.6, 0.9, 0.95, 0.975, 0.995, 0.9999]
    put("norm_quantile", list(probs) + list(scipy.stats.norm.ppf(probs)),
        "scipy.stats.norm.ppf(p): p x6, quantile x6")

    with open(os.path.join(HERE, "expected.txt"), "w") as f:
        f.write("# Generated by t/data/forecast/make-reference.py with "
                "statsmodels %s, scipy %s, numpy %s, python %s.\n"
                % (statsmodels.__version__, scipy.__version__,
                   np.__version__, sys.version.split()[0]))
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
