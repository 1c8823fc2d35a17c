/* t/bench/balance: trace-driven simulation of balancing policies.
 *
 * Data sets (each a set of days of services' CPU demand, 288 steps of
 * 300 s; see balance-data.c for the conversions):
 *   planetlab  the PlanetLab day 20110303: 1,052 VMs, 27 nodes;
 *   days       each Bitbrains day of September 2013 (100 VMs), 4 nodes;
 *   weeks      each Bitbrains week (days 1-7, 8-14, 15-21, 22-28) as one
 *              day of 700 services (every VM-day a service), 16 nodes.
 * Nodes are sized so that the mean load of the day is --load (60% and
 * 70%). Services start spread by count (Pacemaker's default placement) in
 * a shuffled order, one order per seed.
 *
 * Policies, all in one run (balance-sim.c); * marks an oracle:
 *   no balancing;
 *   static by peak: Pacemaker's balanced strategy on each service's peak of
 *     the day before (PlanetLab has none: the day's own, an oracle there);
 *   static by mean*: the same on the day's mean;
 *   reactive 80%: while a node's last sample is above 80%, its largest
 *     service to the least loaded node that stays under 80%;
 *   tuned 80/70: above 80%, the smallest service whose move brings the
 *     node to 70% (else the largest that fits) to the least loaded node
 *     that stays under 70%, until the node is under 70%;
 *   tuned 75/60+cd: the same at 75% down to 60%, with patmon's cooldown;
 *   patmon: libbalancer on bal_estimate_auto's estimates;
 *   patmon perfect*: patmon with only the next step's demand replaced by
 *     the true one (horizon levels, weights and z unchanged);
 *   clairvoyant*: every service re-placed each step by first-fit
 *     decreasing on the next step's true demand, free moves.
 * A move costs its source move_cost x the moved demand for the step of the
 * move. The failure run kills each policy's busiest node after the step
 * of the day's highest total demand.
 *
 * Usage: balance [--set planetlab|days|weeks|all] [--load 0.6,0.7]
 *                [--days 1-28] [--seeds 5] [--seed0 1] ... (--help)
 * The data stays outside the repository (../shared/data next to the
 * checkout); exit 77 when it is absent. */
#include "config.h"

#include "balance.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef PATMON_SRCDIR
#define PATMON_SRCDIR "."
#endif

#define MAX_UNITS 64
#define MAX_SEEDS 16
#define MAX_LOADS 4

enum set { SET_PLANETLAB, SET_DAYS, SET_WEEKS, NSET };
static const char *const set_names[NSET] = {"planetlab", "days", "weeks"};
static const int set_nodes[NSET] = {27, 4, 16};

struct opts {
  const char *planetlab, *bitbrains;
  bool sets[NSET];
  double loads[MAX_LOADS];
  int nloads;
  bool days[32];
  int seeds, seed0, nodes;
  struct sim_cfg sim;
  struct est_cfg est;
  int failure;   /* run the failure runs */
  int replicate; /* copies of each trace set (--zones; 0: nodes / the
                  * set's nodes, rounded up) */
  bool dead;     /* --zones: also the run with one instance dead */
  bool no_wide;  /* --zones: not the global planner with K budgets */
};

/* Results of one scenario (data set at one load): per unit (a day, a week,
 * or the PlanetLab day), per seed, per policy. */
struct scenario {
  const char *set;
  double load;
  int nunits, nseeds;
  char unit[MAX_UNITS][48];
  double cap[MAX_UNITS];
  struct result r[MAX_UNITS][MAX_SEEDS][NPOL];
  struct result f[MAX_UNITS][MAX_SEEDS][NPOL + 1]; /* + patmon publishing */
};

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* min, median, max of v[0..n-1] (sorted in place). */
static void mmm(double *v, int n, double ret[3]) {
  qsort(v, (size_t)n, sizeof(double), cmp_dbl);
  ret[0] = v[0];
  ret[1] = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  ret[2] = v[n - 1];
}

typedef double (*metric_fn)(const struct result *r);
static double m_over80(const struct result *r) { return r->over80; }
static double m_over100(const struct result *r) { return r->over100; }
static double m_moves(const struct result *r) { return (double)r->moves; }
static double m_unserved(const struct result *r) { return r->unserved; }

/* Per unit, the mean over seeds. */
static double unit_mean(const struct scenario *sc, int u, int pol,
                        metric_fn f) {
  double s = 0;
  for (int k = 0; k < sc->nseeds; k++)
    s += f(&sc->r[u][k][pol]);
  return s / sc->nseeds;
}

/* Over units (means over seeds) and over seeds (means over units). */
static void spread_of(const struct scenario *sc, int pol, metric_fn f,
                      double by_unit[3], double by_seed[3], double *mean) {
  double v[MAX_UNITS > MAX_SEEDS ? MAX_UNITS : MAX_SEEDS];
  double tot = 0;
  for (int u = 0; u < sc->nunits; u++) {
    v[u] = unit_mean(sc, u, pol, f);
    tot += v[u];
  }
  *mean = tot / sc->nunits;
  mmm(v, sc->nunits, by_unit);
  for (int k = 0; k < sc->nseeds; k++) {
    v[k] = 0;
    for (int u = 0; u < sc->nunits; u++)
      v[k] += f(&sc->r[u][k][pol]) / sc->nunits;
  }
  mmm(v, sc->nseeds, by_seed);
}

static void report(const struct scenario *sc, const struct opts *o) {
  bool single = sc->nunits == 1;
  double capmin = INFINITY, capmax = 0;
  for (int u = 0; u < sc->nunits; u++) {
    capmin = fmin(capmin, sc->cap[u]);
    capmax = fmax(capmax, sc->cap[u]);
  }
  printf("\n=== %s, mean load %.0f%%: %d %s x %d seeds, %d nodes of "
         "%.1f-%.1f cores; move cost %.2f of the moved demand ===\n",
         sc->set, 100 * sc->load, sc->nunits, single ? "day" : "units",
         sc->nseeds, o->nodes ? o->nodes : 0, capmin, capmax, o->sim.move_cost);
  printf("node-minutes above 80%% (mean over seeds per %s: min / median / "
         "max over %ss; then over seeds)\n",
         single ? "day" : "unit", single ? "day" : "unit");
  printf("%-17s %26s %22s %8s %9s %10s %10s\n", "policy",
         single ? "per day" : "per unit: min/med/max", "per seed: min/med/max",
         "mean", ">100%", "moves", "unserved");
  for (int pol = 0; pol < NPOL; pol++) {
    double bu[3], bs[3], mean, b100[3], s100[3], m100, bm[3], sm[3], mm, bu2[3],
        su2[3], mu;
    spread_of(sc, pol, m_over80, bu, bs, &mean);
    spread_of(sc, pol, m_over100, b100, s100, &m100);
    spread_of(sc, pol, m_moves, bm, sm, &mm);
    spread_of(sc, pol, m_unserved, bu2, su2, &mu);
    printf("%-17s %8.0f %8.0f %8.0f %7.0f %7.0f %7.0f %8.1f %9.1f %10.1f "
           "%10.1f\n",
           pol_name[pol], bu[0], bu[1], bu[2], bs[0], bs[1], bs[2], mean, m100,
           mm, mu);
  }
  /* Targets. */
  double pat = 0, pmov = 0;
  for (int u = 0; u < sc->nunits; u++) {
    pat += unit_mean(sc, u, P_PATMON, m_over80);
    pmov += unit_mean(sc, u, P_PATMON, m_moves);
  }
  printf("targets (means; days where it holds, out of %d):\n", sc->nunits);
  for (int pol = 0; pol < NPOL; pol++) {
    if (pol == P_PATMON || pol == P_PERFECT || pol == P_CLAIRVOYANT)
      continue;
    double other = 0, omov = 0;
    int held = 0;
    for (int u = 0; u < sc->nunits; u++) {
      double a = unit_mean(sc, u, P_PATMON, m_over80),
             b = unit_mean(sc, u, pol, m_over80);
      other += b;
      omov += unit_mean(sc, u, pol, m_moves);
      held += a < b || (a == 0 && b == 0);
    }
    bool moves_ok = omov == 0 || pmov <= omov;
    printf("  patmon vs %-16s %8.1f vs %8.1f node-min, moves %7.1f vs "
           "%7.1f: %s (%d/%d)%s\n",
           pol_name[pol], pat / sc->nunits, other / sc->nunits,
           pmov / sc->nunits, omov / sc->nunits,
           pat < other && (moves_ok || pol_oracle[pol] || omov == 0)
               ? "fewer"
               : "NOT fewer",
           held, sc->nunits, omov > 0 && !moves_ok ? " (more moves)" : "");
  }
  double none = 0, perf = 0, clair = 0;
  for (int u = 0; u < sc->nunits; u++) {
    none += unit_mean(sc, u, P_NONE, m_over80);
    perf += unit_mean(sc, u, P_PERFECT, m_over80);
    clair += unit_mean(sc, u, P_CLAIRVOYANT, m_over80);
  }
  printf("  patmon vs no balancing: %.1f%% fewer (target >= 60%%)\n",
         none > 0 ? 100 * (1 - pat / none) : 0);
  printf("  patmon perfect vs clairvoyant: %.1f vs %.1f node-min (ratio %.2f, "
         "target <= 2)\n",
         perf / sc->nunits, clair / sc->nunits,
         clair > 0 ? perf / clair : (perf > 0 ? INFINITY : 1));
  if (!o->failure)
    return;
  printf("failure run: the busiest node dies after the step of the highest "
         "total demand (sums over %s x seeds)\n",
         single ? "the day" : "units");
  printf("  surv>100%%: survivors above 100%% at the next step; pushed: of "
         "them, those under 100%% without the dead node's services they "
         "took.\n  packing: first-fit decreasing packs every service into "
         "the survivors (re-placing all); orphans fit: it packs the dead "
         "node's alone into their room.\n  target: runs with a packing and "
         "unserved demand or a survivor above 100%% (pushed: a pushed one)\n");
  printf("%-17s %8s %12s %10s %7s %11s %10s %8s %9s %11s %9s %10s %10s\n",
         "policy", "stopped", "unserved", "surv>100%", "pushed", "pcmk>100%",
         ">100%aft", "moves", "packing", "orphans fit", "target", "pushed",
         "pcmk-stop");
  for (int pol = 0; pol <= NPOL; pol++) {
    double stopped = 0, uns = 0, surv = 0, pcmk = 0, o100 = 0, mv = 0, ps = 0;
    double push = 0;
    int pack = 0, fit = 0, runs = 0, bad = 0, bad_push = 0;
    for (int u = 0; u < sc->nunits; u++)
      for (int k = 0; k < sc->nseeds; k++) {
        const struct result *f = &sc->f[u][k][pol];
        stopped += (double)f->stopped;
        uns += f->unserved_after;
        surv += (double)f->survivors_over;
        push += (double)f->survivors_pushed;
        pcmk += (double)f->pcmk_over;
        ps += (double)f->pcmk_stopped;
        o100 += f->over100_after;
        mv += (double)f->fail_moves;
        pack += f->packing > 0;
        fit += f->orphans_fit > 0;
        runs++;
        bool unserved = f->unserved_after > 0;
        bad += f->packing > 0 && (unserved || f->survivors_over);
        bad_push += f->packing > 0 && (unserved || f->survivors_pushed);
      }
    printf("%-17s %8.0f %12.1f %10.0f %7.0f %11.0f %10.0f %8.1f %5d/%-3d "
           "%7d/%-3d %5d bad %6d bad %10.0f\n",
           pol < NPOL ? pol_name[pol] : "patmon+publish", stopped, uns, surv,
           push, pcmk, o100, mv / runs, pack, runs, fit, runs, bad, bad_push,
           ps);
  }
}

static int run_set(struct scenario *sc, struct trace_set *ts, int u,
                   const struct opts *o) {
  struct sim_cfg cf = o->sim;
  double total = traces_mean_total(ts);
  cf.cap = round(total / (sc->load * cf.nodes) * 100) / 100;
  sc->cap[u] = cf.cap;
  snprintf(sc->unit[u], sizeof(sc->unit[u]), "%s", ts->label);
  int peak = peak_step(ts);
  for (int k = 0; k < sc->nseeds; k++)
    for (int pol = 0; pol < NPOL; pol++) {
      unsigned long long seed = (unsigned long long)(o->seed0 + k);
      int r = sim_run(&cf, ts, pol, seed, -1, &sc->r[u][k][pol]);
      if (r == 0 && o->failure)
        r = sim_run(&cf, ts, pol, seed, peak, &sc->f[u][k][pol]);
      if (r == 0 && o->failure && pol == P_PATMON) {
        struct sim_cfg pub = cf;
        pub.publish = true;
        r = sim_run(&pub, ts, pol, seed, peak, &sc->f[u][k][NPOL]);
      }
      if (r < 0) {
        fprintf(stderr, "%s: %s: simulation failed: %s\n", ts->label,
                pol_name[pol], strerror(-r));
        return r;
      }
      if (o->sim.verbose)
        printf("  %s seed %d %-17s >80%% %6.0f >100%% %5.0f moves %5ld\n",
               ts->label, o->seed0 + k, pol_name[pol], sc->r[u][k][pol].over80,
               sc->r[u][k][pol].over100, sc->r[u][k][pol].moves);
    }
  return 0;
}

/* ---- --zones K: one instance per zone against the global planner ---- */

/* The global planner has one budget of moves a pass; K instances have K:
 * the global planner with K budgets is run too. */
enum { ZR_GLOBAL, ZR_ZONES, ZR_GLOBAL_K, ZR_DEAD, ZR_GLOBAL_DEAD, NZR };
static const char *const zr_name[NZR] = {"global", "zones", "global, K x",
                                         "zones, dead", "global, dead"};

struct zscenario {
  int nunits, nseeds;
  struct result r[MAX_UNITS][MAX_SEEDS][NZR];
  int dead_from[MAX_UNITS];
};

static double zmean(const struct zscenario *zc, int u, int k, metric_fn f) {
  double s = 0;
  for (int j = 0; j < zc->nseeds; j++)
    s += f(&zc->r[u][j][k]);
  return s / zc->nseeds;
}

static double m_cross(const struct result *r) { return (double)r->cross_moves; }
static double m_dead(const struct result *r) { return r->dead_over80; }
static double m_dead_adopted(const struct result *r) {
  return r->dead_over80_adopted;
}

/* min / median / max over units of the per-unit means over seeds, and
 * their mean. */
static void zspread(const struct zscenario *zc, int k, metric_fn f,
                    double ret[4]) {
  double v[MAX_UNITS], tot = 0;
  for (int u = 0; u < zc->nunits; u++)
    tot += v[u] = zmean(zc, u, k, f);
  mmm(v, zc->nunits, ret);
  ret[3] = tot / zc->nunits;
}

/* min / median / max over seeds of the means over units. */
static void zseeds(const struct zscenario *zc, int k, metric_fn f,
                   double ret[3]) {
  double v[MAX_SEEDS];
  for (int j = 0; j < zc->nseeds; j++) {
    v[j] = 0;
    for (int u = 0; u < zc->nunits; u++)
      v[j] += f(&zc->r[u][j][k]) / zc->nunits;
  }
  mmm(v, zc->nseeds, ret);
}

static void zone_report(const struct zscenario *zc, const struct opts *o,
                        const char *set, double load, size_t nsvc) {
  printf("\n=== %s x%d (%zu services), mean load %.0f%%: %d nodes in %d "
         "zones, cross-zone move cost %.0fx, %d %s x %d seeds ===\n",
         set, o->replicate, nsvc, 100 * load, o->sim.nodes, o->sim.zones,
         o->sim.cross_cost, zc->nunits, zc->nunits == 1 ? "day" : "units",
         zc->nseeds);
  printf("%-13s %28s %10s %9s %9s %7s %12s %12s %9s %22s\n", "planner",
         ">80% node-min min/med/max", "mean", ">100%", "moves", "cross",
         "plan ms/pass", "max ms", "grant/ref", "over seeds min/med/max");
  for (int k = 0; k < (o->dead ? NZR : ZR_DEAD); k++) {
    if (k == ZR_GLOBAL_K && o->no_wide)
      continue;
    double a[4], b[4], mv[4], cr[4], sd[3];
    zseeds(zc, k, m_over80, sd);
    zspread(zc, k, m_over80, a);
    zspread(zc, k, m_over100, b);
    zspread(zc, k, m_moves, mv);
    zspread(zc, k, m_cross, cr);
    double ps = 0, pmax = 0, passes = 0, gr = 0, rf = 0;
    for (int u = 0; u < zc->nunits; u++)
      for (int j = 0; j < zc->nseeds; j++) {
        const struct result *x = &zc->r[u][j][k];
        ps += x->plan_s;
        passes += (double)x->plan_passes;
        pmax = fmax(pmax, x->plan_max_s);
        gr += (double)x->granted;
        rf += (double)x->refused;
      }
    printf("%-13s %9.0f %9.0f %9.0f %10.1f %9.1f %9.1f %6.1f%% %12.2f "
           "%12.1f %4.0f/%-4.0f %7.0f/%.0f/%.0f\n",
           zr_name[k], a[0], a[1], a[2], a[3], b[3], mv[3],
           mv[3] > 0 ? 100 * cr[3] / mv[3] : 0, passes ? 1e3 * ps / passes : 0,
           1e3 * pmax, gr, rf, sd[0], sd[1], sd[2]);
  }
  double g[4], z[4];
  zspread(zc, ZR_GLOBAL, m_over80, g);
  zspread(zc, ZR_ZONES, m_over80, z);
  double v[MAX_UNITS];
  for (int u = 0; u < zc->nunits; u++) {
    double gu = zmean(zc, u, ZR_GLOBAL, m_over80),
           zu = zmean(zc, u, ZR_ZONES, m_over80);
    v[u] = gu > 0 ? zu / gu : (zu > 0 ? INFINITY : 1);
  }
  double rr[3];
  mmm(v, zc->nunits, rr);
  double mz[4], cz[4];
  zspread(zc, ZR_ZONES, m_moves, mz);
  zspread(zc, ZR_ZONES, m_cross, cz);
  printf("targets: zones/global node-min above 80%%: %.3f on the means (per "
         "%s min/med/max %.3f/%.3f/%.3f; target <= 1.10): %s\n",
         g[3] > 0 ? z[3] / g[3] : 1, zc->nunits == 1 ? "day" : "unit", rr[0],
         rr[1], rr[2], z[3] <= 1.10 * g[3] + 1e-9 ? "holds" : "DOES NOT hold");
  double gk[4];
  zspread(zc, ZR_GLOBAL_K, m_over80, gk);
  if (!o->no_wide)
    printf("         (against the global planner with %d x its budget: "
           "%.3f)\n",
           o->sim.zones, gk[3] > 0 ? z[3] / gk[3] : 1);
  printf("         cross-zone moves %.1f%% of the zones' moves (target <= "
         "10%%): %s\n",
         mz[3] > 0 ? 100 * cz[3] / mz[3] : 0,
         cz[3] <= 0.10 * mz[3] + 1e-9 ? "holds" : "DOES NOT hold");
  if (!o->dead)
    return;
  double dz[4], dg[4], az[4], ag[4], dl[4], al[4];
  zspread(zc, ZR_ZONES, m_dead, dl);
  zspread(zc, ZR_ZONES, m_dead_adopted, al);
  zspread(zc, ZR_DEAD, m_dead, dz);
  zspread(zc, ZR_GLOBAL_DEAD, m_dead, dg);
  zspread(zc, ZR_DEAD, m_dead_adopted, az);
  zspread(zc, ZR_GLOBAL_DEAD, m_dead_adopted, ag);
  int late = 0, never = 0;
  for (int u = 0; u < zc->nunits; u++)
    for (int j = 0; j < zc->nseeds; j++) {
      int at = zc->r[u][j][ZR_DEAD].adopted_at;
      never += at < 0;
      late = at >= 0
                 ? (at - zc->dead_from[u] > late ? at - zc->dead_from[u] : late)
                 : late;
    }
  printf("dead instance (zone z00's, for 12 steps = 1 h from 6 steps before "
         "the peak): its nodes' node-min above 80%% in that hour: zones %.1f "
         "(all alive %.1f) vs global %.1f; after the adoption: zones %.1f "
         "(all alive %.1f) vs global %.1f "
         "(%s); adopted at the latest at the %d. pass it missed, %d runs "
         "never\n",
         dz[3], dl[3], dg[3], az[3], al[3], ag[3],
         az[3] <= ag[3] + 1e-9 ? "no worse: holds" : "WORSE", late + 1, never);
}

static int zone_runs(const struct trace_set *base, const struct opts *o,
                     double load, struct zscenario *zc, int u,
                     size_t *ret_nsvc) {
  struct trace_set rep;
  int r = traces_replicate(base, o->replicate, &rep);
  if (r < 0)
    return r;
  *ret_nsvc = rep.n;
  struct sim_cfg cf = o->sim;
  cf.cap = round(traces_mean_total(&rep) / (load * cf.nodes) * 100) / 100;
  int peak = peak_step(&rep);
  cf.dead_from = peak - 6 > 1 ? peak - 6 : 1;
  cf.dead_to = cf.dead_from + 12 < rep.steps ? cf.dead_from + 12 : rep.steps;
  zc->dead_from[u] = cf.dead_from;
  for (int k = 0; r == 0 && k < zc->nseeds; k++) {
    unsigned long long seed = (unsigned long long)(o->seed0 + k);
    struct result *x = zc->r[u][k];
    /* The run with the dead instance first: the others count the same
     * nodes over the same hour, from its adoption on. */
    cf.dead_zone = o->dead ? 0 : -1;
    cf.dead_kill = true;
    cf.dead_ref = -1;
    if (o->dead) {
      r = sim_run(&cf, &rep, P_ZONES, seed, -1, &x[ZR_DEAD]);
      cf.dead_ref = x[ZR_DEAD].adopted_at;
    }
    cf.dead_kill = false;
    if (r == 0)
      r = sim_run(&cf, &rep, P_PATMON, seed, -1, &x[ZR_GLOBAL]);
    if (r == 0)
      r = sim_run(&cf, &rep, P_ZONES, seed, -1, &x[ZR_ZONES]);
    struct sim_cfg wide = cf;
    wide.budget = cf.budget * (unsigned)cf.zones;
    if (r == 0 && !o->no_wide)
      r = sim_run(&wide, &rep, P_PATMON, seed, -1, &x[ZR_GLOBAL_K]);
    x[ZR_GLOBAL_DEAD] = x[ZR_GLOBAL]; /* no instance to lose */
    if (r == 0 && o->sim.verbose)
      printf("  %s seed %llu: >80%% global %.0f zones %.0f; moves %ld (cross "
             "%ld) vs %ld (cross %ld)\n",
             rep.label, seed, x[ZR_GLOBAL].over80, x[ZR_ZONES].over80,
             x[ZR_GLOBAL].moves, x[ZR_GLOBAL].cross_moves, x[ZR_ZONES].moves,
             x[ZR_ZONES].cross_moves);
    if (r == 0 && o->sim.verbose && o->dead)
      printf("  %s seed %llu: z00's nodes >80%% after the adoption at step "
             "%d (dead from %d): dead %.0f, all alive %.0f, global %.0f\n",
             rep.label, seed, x[ZR_DEAD].adopted_at, cf.dead_from,
             x[ZR_DEAD].dead_over80_adopted, x[ZR_ZONES].dead_over80_adopted,
             x[ZR_GLOBAL].dead_over80_adopted);
    fflush(stdout);
  }
  traces_free(&rep);
  return r;
}

static int prepare(struct trace_set *ts, const struct opts *o,
                   unsigned long used[BAL_NEST]) {
  return traces_estimate(ts, &o->est, used);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: balance [--set planetlab|days|weeks|all] [--load 0.6,0.7]\n"
          "               [--days LIST] [--seeds K] [--seed0 S] [--nodes N]\n"
          "               [--move-cost F] [--no-failure] [--verbose]\n"
          "               [--planetlab DIR] [--bitbrains DIR]\n"
          "  zones: --zones K --nodes N [--replicate R] [--cross-cost C]\n"
          "         [--dead] [--no-wide]\n"
          "  patmon: [--window STEPS] [--budget MOVES] [--cooldown STEPS]\n"
          "          [--z Z] [--plan-cost C] [--fixed-smooth]\n"
          "          [--qwindow STEPS] [--quantile Q] [--burst B]\n"
          "  LIST: days of September 2013, e.g. 2,9,16 or 1-28\n");
}

static int parse_days(const char *s, bool days[32]) {
  memset(days, 0, 32 * sizeof(bool));
  while (*s) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s)
      return -EINVAL;
    if (*end == '-')
      b = strtol(end + 1, &end, 10);
    if (a < 1 || b > 28 || a > b)
      return -EINVAL;
    for (long d = a; d <= b; d++)
      days[d] = true;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',')
      return -EINVAL;
  }
  return 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void print_used(const char *label, const unsigned long used[BAL_NEST]) {
  unsigned long tot = 0;
  for (int e = 0; e < BAL_NEST; e++)
    tot += used[e];
  printf("  %s estimators chosen:", label);
  for (int e = 0; e < BAL_NEST; e++)
    printf(" %s %.1f%%", bal_estimator_name((enum bal_estimator)e),
           tot ? 100.0 * used[e] / tot : 0);
  printf("\n");
}

int main(int argc, char **argv) {
  static char def_pl[4096], def_bb[4096];
  snprintf(def_pl, sizeof(def_pl), "%s/../shared/data/planetlab/20110303",
           PATMON_SRCDIR);
  snprintf(def_bb, sizeof(def_bb), "%s/../shared/data/bitbrains-rnd/2013-9",
           PATMON_SRCDIR);
  /* The daemon's defaults in steps of 300 s: window 2 h, cooldown 30 min,
   * 8 moves a pass, z 1. The forecast plugin: window 48, refit every 6. */
  struct opts o = {.planetlab = def_pl,
                   .bitbrains = def_bb,
                   .loads = {0.6},
                   .nloads = 1,
                   .seeds = 5,
                   .seed0 = 1,
                   .failure = 1,
                   .sim = {.move_cost = 1.0,
                           .cooldown = 6,
                           .budget = 8,
                           .z = 1.0,
                           .cross_cost = 5,
                           .dead_zone = -1,
                           .dead_ref = -1},
                   .est = {.window = 24, .fc_window = 48, .fc_refit = 6}};
  bal_est_params_init(&o.est.p);
  {
    bal_params_t bp;
    bal_params_init(&bp);
    o.sim.plan_cost = bp.move_cost;
    o.sim.near_weight = bp.near_weight;
    o.sim.spread_scale = bp.spread_scale;
  }
  o.sets[SET_PLANETLAB] = true;
  parse_days("1-28", o.days);
  static const struct option opts[] = {
      {"set", required_argument, NULL, 'S'},
      {"load", required_argument, NULL, 'l'},
      {"days", required_argument, NULL, 'D'},
      {"seeds", required_argument, NULL, 's'},
      {"seed0", required_argument, NULL, '0'},
      {"nodes", required_argument, NULL, 'n'},
      {"move-cost", required_argument, NULL, 'm'},
      {"no-failure", no_argument, NULL, 'F'},
      {"planetlab", required_argument, NULL, 'P'},
      {"bitbrains", required_argument, NULL, 'B'},
      {"window", required_argument, NULL, 'w'},
      {"budget", required_argument, NULL, 'b'},
      {"cooldown", required_argument, NULL, 'C'},
      {"z", required_argument, NULL, 'z'},
      {"plan-cost", required_argument, NULL, 'c'},
      {"fixed-smooth", no_argument, NULL, 'x'},
      {"qwindow", required_argument, NULL, 'q'},
      {"quantile", required_argument, NULL, 'Q'},
      {"burst", required_argument, NULL, 'u'},
      {"est-horizon", required_argument, NULL, 'H'},
      {"near-weight", required_argument, NULL, 'N'},
      {"spread-scale", required_argument, NULL, 'K'},
      {"zones", required_argument, NULL, 'Z'},
      {"cross-cost", required_argument, NULL, 'X'},
      {"replicate", required_argument, NULL, 'R'},
      {"dead", no_argument, NULL, 'd'},
      {"no-wide", no_argument, NULL, 'W'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
    switch (c) {
    case 'S':
      memset(o.sets, 0, sizeof(o.sets));
      for (char *tok = strtok(optarg, ","); tok; tok = strtok(NULL, ",")) {
        bool ok = false;
        for (int k = 0; k < NSET; k++)
          if (strcmp(tok, set_names[k]) == 0 || strcmp(tok, "all") == 0)
            ok = o.sets[k] = true;
        if (!ok) {
          usage(stderr);
          return 2;
        }
      }
      break;
    case 'l':
      o.nloads = 0;
      for (char *tok = strtok(optarg, ","); tok && o.nloads < MAX_LOADS;
           tok = strtok(NULL, ","))
        o.loads[o.nloads++] = atof(tok);
      break;
    case 'D':
      if (parse_days(optarg, o.days) < 0) {
        usage(stderr);
        return 2;
      }
      break;
    case 's':
      o.seeds = atoi(optarg);
      break;
    case '0':
      o.seed0 = atoi(optarg);
      break;
    case 'n':
      o.nodes = atoi(optarg);
      break;
    case 'm':
      o.sim.move_cost = atof(optarg);
      break;
    case 'F':
      o.failure = 0;
      break;
    case 'P':
      o.planetlab = optarg;
      break;
    case 'B':
      o.bitbrains = optarg;
      break;
    case 'w':
      o.est.window = (unsigned)atoi(optarg);
      break;
    case 'b':
      o.sim.budget = (unsigned)atoi(optarg);
      break;
    case 'C':
      o.sim.cooldown = (unsigned)atoi(optarg);
      break;
    case 'z':
      o.sim.z = atof(optarg);
      break;
    case 'c':
      o.sim.plan_cost = atof(optarg);
      break;
    case 'x':
      o.est.fixed_smooth = true;
      break;
    case 'q':
      o.est.p.qwindow = (unsigned)atoi(optarg);
      break;
    case 'Q':
      o.est.p.quantile = atof(optarg);
      break;
    case 'u':
      o.est.p.burst = atof(optarg);
      break;
    case 'H':
      o.est.p.horizon = (unsigned)atoi(optarg);
      break;
    case 'N':
      o.sim.near_weight = atof(optarg);
      break;
    case 'K':
      o.sim.spread_scale = atof(optarg);
      break;
    case 'Z':
      o.sim.zones = atoi(optarg);
      break;
    case 'X':
      o.sim.cross_cost = atof(optarg);
      break;
    case 'R':
      o.replicate = atoi(optarg);
      break;
    case 'd':
      o.dead = true;
      break;
    case 'W':
      o.no_wide = true;
      break;
    case 'v':
      o.sim.verbose++;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (o.seeds < 1 || o.seeds > MAX_SEEDS || o.nloads < 1 || o.est.window < 2 ||
      o.sim.zones < 0 || o.replicate < 0 ||
      (o.sim.zones > 0 && (o.nodes < o.sim.zones || o.sim.zones > 100))) {
    usage(stderr);
    return 2;
  }
  printf("patmon: threshold 80%%, window %u steps, budget %u, cooldown %u, z "
         "%.2f, move cost %.3f, near weight %.2f, spread scale %.2f; "
         "estimator: %s (quantile %.2f of %u, burst %.1f)\n",
         o.est.window, o.sim.budget, o.sim.cooldown, o.sim.z, o.sim.plan_cost,
         o.sim.near_weight, o.sim.spread_scale,
         o.est.fixed_smooth ? "smoother only" : "auto", o.est.p.quantile,
         o.est.p.qwindow, o.est.p.burst);
  struct bitbrains bb = {0};
  bool need_bb = o.sets[SET_DAYS] || o.sets[SET_WEEKS];
  if (need_bb) {
    int r = bitbrains_load(o.bitbrains, &bb);
    if (r < 0) {
      printf("SKIP: the Bitbrains traces are not at %s (%s); pass "
             "--bitbrains DIR\n",
             o.bitbrains, strerror(-r));
      return 77;
    }
  }
  struct scenario *sc = calloc(1, sizeof(*sc));
  if (!sc)
    return 1;
  for (int set = 0; set < NSET; set++) {
    if (!o.sets[set])
      continue;
    struct trace_set ts[MAX_UNITS] = {0};
    int nunits = 0;
    double t0 = now_s();
    unsigned long used[BAL_NEST] = {0};
    if (set == SET_PLANETLAB) {
      int r = traces_planetlab(o.planetlab, &ts[0]);
      if (r < 0) {
        printf("SKIP: the PlanetLab traces are not at %s (%s); pass "
               "--planetlab DIR\n",
               o.planetlab, strerror(-r));
        return 77;
      }
      nunits = 1;
    } else if (set == SET_DAYS) {
      for (int d = 1; d <= 28; d++)
        if (o.days[d] && bitbrains_day(&bb, d, &ts[nunits]) == 0)
          nunits++;
    } else {
      for (int w = 0; w < 4; w++)
        if (bitbrains_days(&bb, 1 + 7 * w, 7, &ts[nunits]) == 0)
          nunits++;
    }
    for (int u = 0; u < nunits; u++)
      if (prepare(&ts[u], &o, used) < 0) {
        fprintf(stderr, "%s: estimates failed\n", ts[u].label);
        return 1;
      }
    printf("\n%s: %d unit(s), estimates in %.1f s\n", set_names[set], nunits,
           now_s() - t0);
    print_used(set_names[set], used);
    for (int l = 0; o.sim.zones > 0 && l < o.nloads; l++) {
      struct zscenario *zc = calloc(1, sizeof(*zc));
      struct opts oo = o;
      oo.sim.nodes = o.nodes;
      if (!oo.replicate)
        oo.replicate = (o.nodes + set_nodes[set] - 1) / set_nodes[set];
      zc->nunits = nunits;
      zc->nseeds = o.seeds;
      size_t nsvc = 0;
      double t1 = now_s();
      for (int u = 0; zc && u < nunits; u++)
        if (zone_runs(&ts[u], &oo, o.loads[l], zc, u, &nsvc) < 0)
          return 1;
      if (!zc)
        return 1;
      zone_report(zc, &oo, set_names[set], o.loads[l], nsvc);
      printf("(simulated in %.1f s)\n", now_s() - t1);
      free(zc);
    }
    for (int l = 0; o.sim.zones == 0 && l < o.nloads; l++) {
      memset(sc, 0, sizeof(*sc));
      sc->set = set_names[set];
      sc->load = o.loads[l];
      sc->nunits = nunits;
      sc->nseeds = o.seeds;
      struct opts oo = o;
      oo.nodes = o.nodes ? o.nodes : set_nodes[set];
      oo.sim.nodes = oo.nodes;
      double t1 = now_s();
      for (int u = 0; u < nunits; u++)
        if (run_set(sc, &ts[u], u, &oo) < 0)
          return 1;
      report(sc, &oo);
      printf("(simulated in %.1f s)\n", now_s() - t1);
    }
    for (int u = 0; u < nunits; u++)
      traces_free(&ts[u]);
  }
  free(sc);
  bitbrains_free(&bb);
  return 0;
}
