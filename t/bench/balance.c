/* t/bench/balance: trace-driven simulation of balancing policies.
 *
 * Each PlanetLab trace is one service's CPU demand (percent of one core,
 * 288 samples of 300 s). Nodes are sized so the mean load is about 60%.
 * Services start spread by count (Pacemaker's default placement) in a
 * shuffled order. At every step the load a node carries is the sum of the
 * demands of the services it runs during that step; after the step each
 * policy sees the samples so far (never later ones) and decides the
 * placement of the next step:
 *
 *   none      no balancing;
 *   static    placement by peak demand, never moved (Pacemaker's balanced
 *             strategy with each service's peak as its utilization; the peak
 *             is the whole day's, an oracle that favours this policy);
 *   reactive  greedy 80% rule: while a node's last sample is above 80%, move
 *             its largest service to the least loaded node that stays under
 *             80%;
 *   patmon    libbalancer: forecasts of every service (bal_forecast), node
 *             forecast with its upper bound, bal_plan_compute with the
 *             daemon's defaults (threshold, move budget, cooldown).
 *
 * The failure run kills the busiest node of each policy at the daily peak
 * (the step of highest total demand) and lets each policy recover in its own
 * way: none spreads by count (Pacemaker default), static by declared peak
 * utilization leaving what does not fit stopped (Pacemaker's utilization
 * strategies), reactive greedily by last sample under capacity, patmon with
 * bal_plan_compute (failover with repack).
 *
 * --group K merges K traces (in a fixed shuffled order) into one service,
 * an application of K virtual machines: fewer, larger services make
 * placement after a failure a real packing problem.
 *
 * Usage: balance [--data DIR] [--nodes N] [--cap CORES] [--seeds K]
 *                [--group K] [--verbose]
 * The data stays outside the repository: by default
 * <checkout>/../shared/data/planetlab/20110303. Exit 77 when it is absent. */
#include "config.h"

#include "balancer.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 288
#define STEP_MIN 5
#define THRESHOLD 0.8

#ifndef PATMON_SRCDIR
#define PATMON_SRCDIR "."
#endif

enum policy { P_NONE, P_STATIC, P_REACTIVE, P_PATMON, NPOL };
static const char *const pol_name[NPOL] = {"no balancing", "static by peak",
                                           "reactive 80%", "patmon"};

struct sim_cfg {
  const char *data;
  int nodes;
  double cap;
  int seeds;
  int group;
  int verbose;
  /* patmon's knobs: the daemon's defaults unless told otherwise */
  unsigned window, horizon, cooldown, budget;
  double z;
};

struct traces {
  size_t n;
  double (*v)[STEPS]; /* cores */
  char **name;
};

struct result {
  double over80, over100; /* node-minutes */
  long moves;
  double sd, range; /* mean over steps, percentage points */
  /* failure run */
  int dead, fail_step;
  long stopped, stopped_end, survivors_over, fail_moves;
  double over100_after, over80_after;
  int packing; /* 1 exists (found), 0 not found, -1 not checked */
};

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* xorshift: the same shuffle on every machine. */
static unsigned long long rng_state;
static unsigned rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned)(rng_state >> 11);
}

static int load_traces(const char *dir, struct traces *t) {
  DIR *d = opendir(dir);
  if (!d)
    return -errno;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (t->n == cap) {
      cap = cap ? cap * 2 : 1024;
      t->name = realloc(t->name, cap * sizeof(*t->name));
    }
    t->name[t->n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(t->name, t->n, sizeof(char *), cmp_name);
  t->v = calloc(t->n, sizeof(*t->v));
  for (size_t i = 0; i < t->n; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, t->name[i]);
    FILE *f = fopen(path, "r");
    if (!f)
      return -errno;
    for (int k = 0; k < STEPS; k++) {
      int x;
      if (fscanf(f, "%d", &x) != 1) {
        fclose(f);
        fprintf(stderr, "%s: fewer than %d samples\n", path, STEPS);
        return -EBADMSG;
      }
      t->v[i][k] = x / 100.0;
    }
    fclose(f);
  }
  return 0;
}

/* Merges k traces into one service, in a shuffled order fixed for every
 * run (the names sort by host, and VMs of one host are alike). */
static void group_traces(struct traces *t, int k) {
  size_t n = t->n, ng = (n + (size_t)k - 1) / (size_t)k;
  size_t *order = malloc(n * sizeof(*order));
  for (size_t i = 0; i < n; i++)
    order[i] = i;
  rng_state = 0x5DEECE66Dull;
  for (size_t i = n; i > 1; i--) {
    size_t j = rnd() % i, x = order[i - 1];
    order[i - 1] = order[j];
    order[j] = x;
  }
  double(*v)[STEPS] = calloc(ng, sizeof(*v));
  char **name = calloc(ng, sizeof(char *));
  for (size_t g = 0; g < ng; g++) {
    char buf[32];
    snprintf(buf, sizeof(buf), "app%04zu", g);
    name[g] = strdup(buf);
  }
  for (size_t i = 0; i < n; i++)
    for (int s = 0; s < STEPS; s++)
      v[i / (size_t)k][s] += t->v[order[i]][s];
  for (size_t i = 0; i < n; i++)
    free(t->name[i]);
  free(t->name);
  free(t->v);
  free(order);
  t->v = v;
  t->name = name;
  t->n = ng;
}

struct sim {
  const struct sim_cfg *cfg;
  const struct traces *tr;
  int nn;
  size_t ns;
  int *where; /* node per service, -1 stopped */
  int *moved; /* step of the last move, for the cooldown */
  bool *dead;
  double *load;
  long moves;
  double *peak_decl; /* static: declared utilization */
  double decl_cap;
};

static void node_loads(struct sim *s, int t) {
  for (int n = 0; n < s->nn; n++)
    s->load[n] = 0;
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0)
      s->load[s->where[i]] += s->tr->v[i][t];
}

static void place_by_count(struct sim *s, unsigned long long seed) {
  size_t *order = malloc(s->ns * sizeof(*order));
  for (size_t i = 0; i < s->ns; i++)
    order[i] = i;
  rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = s->ns; i > 1; i--) {
    size_t j = rnd() % i;
    size_t x = order[i - 1];
    order[i - 1] = order[j];
    order[j] = x;
  }
  for (size_t k = 0; k < s->ns; k++)
    s->where[order[k]] = (int)(k % (size_t)s->nn);
  free(order);
}

static int cmp_desc_by(const void *a, const void *b, void *ctx) {
  const double *key = ctx;
  double x = key[*(const size_t *)a], y = key[*(const size_t *)b];
  if (x != y)
    return x < y ? 1 : -1;
  return (*(const size_t *)a > *(const size_t *)b) -
         (*(const size_t *)a < *(const size_t *)b);
}

/* Pacemaker's balanced strategy on declared numbers: in decreasing order,
 * each service to the node with the most free declared capacity, if it
 * fits there; else it stays stopped. Returns how many stayed stopped. */
static long place_declared(struct sim *s, size_t *svc, size_t n) {
  double *used = calloc((size_t)s->nn, sizeof(*used));
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0)
      used[s->where[i]] += s->peak_decl[i];
  qsort_r(svc, n, sizeof(size_t), cmp_desc_by, s->peak_decl);
  long stopped = 0;
  for (size_t k = 0; k < n; k++) {
    size_t i = svc[k];
    int best = -1;
    for (int m = 0; m < s->nn; m++)
      if (!s->dead[m] && (best < 0 || used[m] < used[best]))
        best = m;
    if (best >= 0 && used[best] + s->peak_decl[i] <= s->decl_cap + 1e-9) {
      s->where[i] = best;
      used[best] += s->peak_decl[i];
    } else {
      s->where[i] = -1;
      stopped++;
    }
  }
  free(used);
  return stopped;
}

static void place_static(struct sim *s) {
  s->peak_decl = calloc(s->ns, sizeof(double));
  double sum = 0;
  for (size_t i = 0; i < s->ns; i++) {
    for (int t = 0; t < STEPS; t++)
      s->peak_decl[i] = fmax(s->peak_decl[i], s->tr->v[i][t]);
    sum += s->peak_decl[i];
  }
  /* Peaks do not fit the real capacity (they never coincide): the declared
   * node capacity is overcommitted just enough for all to start. */
  size_t *all = malloc(s->ns * sizeof(size_t));
  for (size_t i = 0; i < s->ns; i++) {
    all[i] = i;
    s->where[i] = -1;
  }
  for (double over = fmax(1.0, sum / (s->nn * s->cfg->cap));; over *= 1.01) {
    s->decl_cap = s->cfg->cap * over;
    for (size_t i = 0; i < s->ns; i++)
      s->where[i] = -1;
    if (place_declared(s, all, s->ns) == 0)
      break;
  }
  free(all);
}

/* Moves service i to node m. */
static void move(struct sim *s, size_t i, int m, int t) {
  s->where[i] = m;
  s->moved[i] = t;
  s->moves++;
}

/* Reactive: samples of step t decide. Also retries stopped services. */
static void reactive_step(struct sim *s, int t) {
  const double lim = THRESHOLD * s->cfg->cap;
  node_loads(s, t);
  for (size_t i = 0; i < s->ns; i++) {
    if (s->where[i] >= 0)
      continue;
    double d = s->tr->v[i][t];
    int best = -1;
    for (int m = 0; m < s->nn; m++)
      if (!s->dead[m] && s->load[m] + d <= s->cfg->cap &&
          (best < 0 || s->load[m] < s->load[best]))
        best = m;
    if (best >= 0) {
      move(s, i, best, t);
      s->load[best] += d;
    }
  }
  for (int n = 0; n < s->nn; n++) {
    while (!s->dead[n] && s->load[n] > lim) {
      /* largest service on n that fits somewhere under 80% */
      size_t pick = s->ns;
      int to = -1;
      double pd = -1;
      for (size_t i = 0; i < s->ns; i++) {
        double d = s->tr->v[i][t];
        if (s->where[i] != n || d <= pd)
          continue;
        int best = -1;
        for (int m = 0; m < s->nn; m++)
          if (m != n && !s->dead[m] && s->load[m] + d <= lim &&
              (best < 0 || s->load[m] < s->load[best]))
            best = m;
        if (best >= 0) {
          pick = i;
          to = best;
          pd = d;
        }
      }
      if (pick == s->ns)
        break;
      move(s, pick, to, t);
      s->load[n] -= pd;
      s->load[to] += pd;
    }
  }
}

/* patmon: forecasts from samples 0..t, the planner decides. */
static int patmon_step(struct sim *s, int t, long *ret_unplaced) {
  const struct sim_cfg *cf = s->cfg;
  bal_cluster_t *c = bal_cluster_new();
  double *mu = calloc(s->ns, sizeof(double));
  double *var = calloc((size_t)s->nn, sizeof(double));
  double *sum = calloc((size_t)s->nn, sizeof(double));
  int r = 0;
  for (int n = 0; n < s->nn; n++) {
    char name[32];
    snprintf(name, sizeof(name), "node%02d", n);
    double cap[BAL_NDIM] = {cf->cap, NAN, NAN};
    bal_cluster_add_node(c, name, cap,
                         s->dead[n] ? BAL_NODE_OFFLINE : BAL_NODE_ONLINE);
  }
  size_t w0 = (size_t)t + 1 > cf->window ? (size_t)t + 1 - cf->window : 0;
  for (size_t i = 0; i < s->ns; i++) {
    double m, up;
    if (bal_forecast(&s->tr->v[i][w0], (size_t)t + 1 - w0, cf->horizon, cf->z,
                     &m, &up) < 0) {
      m = s->tr->v[i][t];
      up = m;
    }
    mu[i] = fmax(m, 0);
    double sd = cf->z > 0 ? (up - m) / cf->z : 0;
    int n = s->where[i];
    if (n >= 0 && !s->dead[n]) {
      sum[n] += mu[i];
      var[n] += sd * sd;
    }
    double dem[BAL_NDIM] = {mu[i], 0, 0};
    int k = bal_cluster_add_service(c, s->tr->name[i], n, dem);
    if (k < 0) {
      r = k;
      goto out;
    }
    if (s->moved[i] >= 0 && t - s->moved[i] < (int)cf->cooldown)
      bal_service_set_flags(c, k, BAL_SVC_COOLDOWN, NULL);
  }
  for (int n = 0; n < s->nn; n++) {
    double l[BAL_NDIM] = {sum[n] + cf->z * sqrt(var[n]), 0, 0};
    bal_node_set_load(c, n, l);
  }
  bal_params_t p;
  bal_params_init(&p);
  p.threshold = THRESHOLD;
  p.max_moves = cf->budget;
  bal_plan_t *plan = NULL;
  r = bal_plan_compute(c, &p, &plan);
  if (r < 0)
    goto out;
  for (size_t k = 0; k < bal_plan_nmoves(plan); k++) {
    bal_move_t m;
    bal_plan_move(plan, k, &m);
    for (size_t j = 0; j < m.nservices; j++) {
      int i = bal_cluster_find_service(c, m.services[j]);
      move(s, (size_t)i, bal_cluster_find_node(c, m.to), t);
      if (m.reason == BAL_WHY_FAILOVER) /* no cooldown, as the daemon */
        s->moved[i] = -1;
    }
  }
  if (ret_unplaced)
    *ret_unplaced = (long)bal_plan_nunplaced(plan);
  if (cf->verbose > 1)
    for (size_t k = 0; k < bal_plan_nnotes(plan); k++)
      fprintf(stderr, "  t=%d note: %s\n", t, bal_plan_note(plan, k));
  /* Services the plan could not place stay stopped. */
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] >= 0 && s->dead[s->where[i]])
      s->where[i] = -1;
  bal_plan_free(plan);
out:
  bal_cluster_free(c);
  free(mu);
  free(var);
  free(sum);
  return r;
}

/* Whether first-fit decreasing packs the services into the live nodes'
 * capacity by demand at step t: a packing exists when it succeeds. */
static int packing_found(const struct sim *s, int t) {
  size_t *v = malloc(s->ns * sizeof(size_t));
  double *key = calloc(s->ns, sizeof(double));
  double *used = calloc((size_t)s->nn, sizeof(double));
  for (size_t i = 0; i < s->ns; i++) {
    v[i] = i;
    key[i] = s->tr->v[i][t];
  }
  qsort_r(v, s->ns, sizeof(size_t), cmp_desc_by, key);
  int ok = 1;
  for (size_t k = 0; ok && k < s->ns; k++) {
    int put = 0;
    for (int m = 0; !put && m < s->nn; m++)
      if (!s->dead[m] && used[m] + key[v[k]] <= s->cfg->cap) {
        used[m] += key[v[k]];
        put = 1;
      }
    ok = put;
  }
  free(v);
  free(key);
  free(used);
  return ok;
}

static int peak_step(const struct traces *tr) {
  int best = 0;
  double bv = -1;
  for (int t = 0; t < STEPS; t++) {
    double sum = 0;
    for (size_t i = 0; i < tr->n; i++)
      sum += tr->v[i][t];
    if (sum > bv) {
      bv = sum;
      best = t;
    }
  }
  return best;
}

/* Failure of node dead after step t: each policy's recovery. */
static void recover(struct sim *s, enum policy pol, int dead, int t,
                    struct result *res) {
  s->dead[dead] = true;
  size_t *homeless = malloc(s->ns * sizeof(size_t));
  size_t nh = 0;
  for (size_t i = 0; i < s->ns; i++)
    if (s->where[i] == dead)
      homeless[nh++] = i;
  long before = s->moves;
  switch (pol) {
  case P_NONE: { /* Pacemaker default: the node with the fewest services */
    int *count = calloc((size_t)s->nn, sizeof(int));
    for (size_t i = 0; i < s->ns; i++)
      if (s->where[i] >= 0 && !s->dead[s->where[i]])
        count[s->where[i]]++;
    for (size_t k = 0; k < nh; k++) {
      int best = -1;
      for (int m = 0; m < s->nn; m++)
        if (!s->dead[m] && (best < 0 || count[m] < count[best]))
          best = m;
      move(s, homeless[k], best, t);
      count[best]++;
    }
    free(count);
    break;
  }
  case P_STATIC:
    for (size_t k = 0; k < nh; k++)
      s->where[homeless[k]] = -1;
    place_declared(s, homeless, nh);
    for (size_t k = 0; k < nh; k++)
      if (s->where[homeless[k]] >= 0)
        s->moves++;
    break;
  case P_REACTIVE:
    for (size_t k = 0; k < nh; k++)
      s->where[homeless[k]] = -1;
    reactive_step(s, t);
    break;
  case P_PATMON:
    patmon_step(s, t, NULL);
    break;
  default:
    break;
  }
  free(homeless);
  res->fail_moves = s->moves - before;
  res->stopped = 0;
  for (size_t i = 0; i < s->ns; i++)
    res->stopped += s->where[i] < 0;
}

static int run(const struct sim_cfg *cf, const struct traces *tr,
               enum policy pol, unsigned long long seed, int fail_at,
               struct result *res) {
  struct sim s = {.cfg = cf, .tr = tr, .nn = cf->nodes, .ns = tr->n};
  s.where = calloc(s.ns, sizeof(int));
  s.moved = calloc(s.ns, sizeof(int));
  s.dead = calloc((size_t)s.nn, sizeof(bool));
  s.load = calloc((size_t)s.nn, sizeof(double));
  for (size_t i = 0; i < s.ns; i++)
    s.moved[i] = -1;
  *res = (struct result){.dead = -1, .fail_step = fail_at, .packing = -1};
  if (pol == P_STATIC)
    place_static(&s);
  else
    place_by_count(&s, seed);
  double sd_sum = 0, range_sum = 0;
  int r = 0;
  for (int t = 0; t < STEPS; t++) {
    node_loads(&s, t);
    double mean = 0, lo = INFINITY, hi = -INFINITY;
    int live = 0;
    for (int n = 0; n < s.nn; n++) {
      if (s.dead[n])
        continue;
      double u = s.load[n] / cf->cap;
      live++;
      mean += u;
      lo = fmin(lo, u);
      hi = fmax(hi, u);
      if (u > THRESHOLD) {
        res->over80 += STEP_MIN;
        if (fail_at >= 0 && t > fail_at)
          res->over80_after += STEP_MIN;
      }
      if (u > 1.0) {
        res->over100 += STEP_MIN;
        if (fail_at >= 0 && t > fail_at)
          res->over100_after += STEP_MIN;
        if (fail_at >= 0 && t == fail_at + 1)
          res->survivors_over++;
      }
    }
    mean /= live;
    double ss = 0;
    for (int n = 0; n < s.nn; n++)
      if (!s.dead[n])
        ss += (s.load[n] / cf->cap - mean) * (s.load[n] / cf->cap - mean);
    sd_sum += 100 * sqrt(ss / live);
    range_sum += 100 * (hi - lo);
    if (t == STEPS - 1)
      break;
    if (t == fail_at) {
      int busiest = -1;
      for (int n = 0; n < s.nn; n++)
        if (busiest < 0 || s.load[n] > s.load[busiest])
          busiest = n;
      res->dead = busiest;
      s.dead[busiest] = true;
      res->packing = packing_found(&s, t + 1);
      s.dead[busiest] = false;
      recover(&s, pol, busiest, t, res);
      continue;
    }
    switch (pol) {
    case P_REACTIVE:
      reactive_step(&s, t);
      break;
    case P_PATMON:
      r = patmon_step(&s, t, NULL);
      break;
    default:
      break;
    }
    if (r < 0)
      break;
  }
  if (fail_at >= 0)
    for (size_t i = 0; i < s.ns; i++)
      res->stopped_end += s.where[i] < 0;
  res->moves = s.moves;
  res->sd = sd_sum / STEPS;
  res->range = range_sum / STEPS;
  free(s.where);
  free(s.moved);
  free(s.dead);
  free(s.load);
  free(s.peak_decl);
  return r;
}

static void usage(FILE *f) {
  fprintf(f, "usage: balance [--data DIR] [--nodes N] [--cap CORES] "
             "[--seeds K] [--group K] [--verbose]\n"
             "  patmon knobs: [--window STEPS] [--horizon STEPS] [--z Z]\n"
             "                [--cooldown STEPS] [--budget MOVES]\n");
}

int main(int argc, char **argv) {
  static char def_data[4096];
  snprintf(def_data, sizeof(def_data), "%s/../shared/data/planetlab/20110303",
           PATMON_SRCDIR);
  /* The daemon's defaults, in steps of 300 s: window 2 h (7200 s), horizon
   * one step (300 s), upper bound at z = 1, cooldown 30 min (1800 s), 8
   * moves a pass. */
  struct sim_cfg cf = {.data = def_data,
                       .nodes = 27,
                       .cap = 8,
                       .seeds = 5,
                       .group = 1,
                       .window = 24,
                       .horizon = 1,
                       .z = 1.0,
                       .cooldown = 6,
                       .budget = 8};
  static const struct option opts[] = {
      {"data", required_argument, NULL, 'd'},
      {"nodes", required_argument, NULL, 'n'},
      {"cap", required_argument, NULL, 'c'},
      {"seeds", required_argument, NULL, 's'},
      {"group", required_argument, NULL, 'g'},
      {"window", required_argument, NULL, 'w'},
      {"horizon", required_argument, NULL, 'H'},
      {"z", required_argument, NULL, 'z'},
      {"cooldown", required_argument, NULL, 'C'},
      {"budget", required_argument, NULL, 'b'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int o;
  bool cap_set = false;
  while ((o = getopt_long(argc, argv, "d:n:c:s:vh", opts, NULL)) != -1) {
    switch (o) {
    case 'd':
      cf.data = optarg;
      break;
    case 'n':
      cf.nodes = atoi(optarg);
      break;
    case 'c':
      cf.cap = atof(optarg);
      cap_set = true;
      break;
    case 's':
      cf.seeds = atoi(optarg);
      break;
    case 'g':
      cf.group = atoi(optarg);
      break;
    case 'w':
      cf.window = (unsigned)atoi(optarg);
      break;
    case 'H':
      cf.horizon = (unsigned)atoi(optarg);
      break;
    case 'z':
      cf.z = atof(optarg);
      break;
    case 'C':
      cf.cooldown = (unsigned)atoi(optarg);
      break;
    case 'b':
      cf.budget = (unsigned)atoi(optarg);
      break;
    case 'v':
      cf.verbose++;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (cf.nodes < 2 || cf.seeds < 1 || cf.group < 1) {
    usage(stderr);
    return 2;
  }
  struct traces tr = {0};
  int r = load_traces(cf.data, &tr);
  if (r < 0 || tr.n == 0) {
    printf("SKIP: the PlanetLab traces are not at %s (%s); pass --data DIR\n",
           cf.data, r < 0 ? strerror(-r) : "empty");
    return 77;
  }
  if (cf.group > 1)
    group_traces(&tr, cf.group);
  double total = 0;
  for (size_t i = 0; i < tr.n; i++)
    for (int t = 0; t < STEPS; t++)
      total += tr.v[i][t];
  total /= STEPS;
  if (!cap_set) /* mean load 60% */
    cf.cap = round(total / (0.6 * cf.nodes) * 10) / 10;
  int peak = peak_step(&tr);
  printf("PlanetLab %s: %zu services (%d trace%s each), %d steps of 300 s; "
         "%d nodes x %.1f cores, mean load %.1f%%; %d seeds\n",
         cf.data, tr.n, cf.group, cf.group > 1 ? "s" : "", STEPS, cf.nodes,
         cf.cap, 100 * total / (cf.nodes * cf.cap), cf.seeds);
  printf("patmon: threshold 80%%, window %u, horizon %u, z %.2f, cooldown "
         "%u, budget %u\n\n",
         cf.window, cf.horizon, cf.z, cf.cooldown, cf.budget);

  struct result sum[NPOL] = {0}, fsum[NPOL] = {0};
  for (int pol = 0; pol < NPOL; pol++) {
    for (int k = 0; k < cf.seeds; k++) {
      struct result res, fres;
      if (run(&cf, &tr, pol, (unsigned long long)k + 1, -1, &res) < 0 ||
          run(&cf, &tr, pol, (unsigned long long)k + 1, peak, &fres) < 0) {
        fprintf(stderr, "simulation failed\n");
        return 1;
      }
      if (cf.verbose)
        printf("  seed %d %-16s >80%% %6.0f  >100%% %6.0f  moves %5ld  "
               "| failure: node%02d dead, stopped %ld, survivors>100%% %ld, "
               ">100%% after %.0f\n",
               k + 1, pol_name[pol], res.over80, res.over100, res.moves,
               fres.dead, fres.stopped, fres.survivors_over,
               fres.over100_after);
      sum[pol].over80 += res.over80;
      sum[pol].over100 += res.over100;
      sum[pol].moves += res.moves;
      sum[pol].sd += res.sd;
      sum[pol].range += res.range;
      fsum[pol].stopped += fres.stopped;
      fsum[pol].stopped_end += fres.stopped_end;
      fsum[pol].survivors_over += fres.survivors_over;
      fsum[pol].over100_after += fres.over100_after;
      fsum[pol].over80_after += fres.over80_after;
      fsum[pol].fail_moves += fres.fail_moves;
      fsum[pol].packing = fsum[pol].packing + (fres.packing > 0);
    }
  }
  double k = cf.seeds;
  printf("%-16s %14s %15s %8s %16s %18s\n", "policy", ">80% node-min",
         ">100% node-min", "moves", "util sd (pp)", "util max-min (pp)");
  for (int pol = 0; pol < NPOL; pol++)
    printf("%-16s %14.0f %15.0f %8.1f %16.1f %18.1f\n", pol_name[pol],
           sum[pol].over80 / k, sum[pol].over100 / k, sum[pol].moves / k,
           sum[pol].sd / k, sum[pol].range / k);
  double none = sum[P_NONE].over80, rea = sum[P_REACTIVE].over80,
         pat = sum[P_PATMON].over80;
  printf("\npatmon vs no balancing: %.1f%% fewer node-minutes above 80%% "
         "(target >= 60%%)\n",
         none > 0 ? 100 * (1 - pat / none) : 0);
  printf("patmon vs reactive: %.0f vs %.0f node-minutes above 80%%, %.1f vs "
         "%.1f moves (target: fewer minutes, no more moves)\n",
         pat / k, rea / k, sum[P_PATMON].moves / k, sum[P_REACTIVE].moves / k);
  printf("\nfailure run: the busiest node dies after step %d (daily peak, "
         "%02d:%02d)\n",
         peak, (peak * 5) / 60, (peak * 5) % 60);
  printf("%-16s %10s %14s %18s %16s %12s %15s\n", "policy", "stopped",
         "stopped (end)", "survivors >100%", ">100% after", "moves",
         "packing found");
  for (int pol = 0; pol < NPOL; pol++)
    printf("%-16s %10.1f %14.1f %18.1f %16.0f %12.1f %11d/%d\n", pol_name[pol],
           fsum[pol].stopped / k, fsum[pol].stopped_end / k,
           fsum[pol].survivors_over / k, fsum[pol].over100_after / k,
           fsum[pol].fail_moves / k, fsum[pol].packing, cf.seeds);
  for (size_t i = 0; i < tr.n; i++)
    free(tr.name[i]);
  free(tr.name);
  free(tr.v);
  return 0;
}
