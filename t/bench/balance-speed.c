/* t/bench/balance-speed: planner speed on a large synthetic cluster.
 *
 * 1,000 nodes of 16 cores and 64 GiB, 20,000 services with skewed CPU and
 * memory demands placed at random, so the mean load is about 60% and some
 * nodes are above the 80% threshold; a few bans, groups and separations.
 * Times bal_plan_compute (unlimited budget and the default budget), the
 * failover of one node, and the what-if of every node.
 *
 * With --spread F each service's estimate has a spread (standard deviation
 * of its error) of F x its demand and a level over the horizon, as
 * estimate = auto gives the planner.
 *
 * Usage: balance-speed [--nodes N] [--services S] [--repeat R] [--spread F]
 */
#include "config.h"

#include "balancer.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long rng = 88172645463325252ull;
static double unif(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static double now_s(void) { return (double)pm_now_ns() / 1e9; }

static bal_cluster_t *build(int nn, int ns, double spread) {
  bal_cluster_t *c = bal_cluster_new();
  const double cap[BAL_NDIM] = {16, 64.0 * 1073741824, NAN};
  double(*load)[BAL_NDIM] = calloc((size_t)nn, sizeof(*load));
  double(*dem)[BAL_NDIM] = calloc((size_t)ns, sizeof(*dem));
  int *where = calloc((size_t)ns, sizeof(int));
  for (int n = 0; n < nn; n++) {
    char name[32];
    snprintf(name, sizeof(name), "node%04d", n);
    bal_cluster_add_node(c, name, cap, BAL_NODE_ONLINE);
  }
  /* Mean demand 0.48 cores: 20 per node x 0.48 = 9.6 of 16 = 60%. */
  double mean = 0.6 * cap[BAL_CPU] * nn / ns;
  for (int i = 0; i < ns; i++) {
    dem[i][BAL_CPU] = mean * -log(1 - unif()); /* exponential: skewed */
    dem[i][BAL_MEM] =
        dem[i][BAL_CPU] / cap[BAL_CPU] * cap[BAL_MEM] * (0.5 + unif());
    /* A group's second member starts with the first. */
    where[i] = i % 250 == 1 ? where[i - 1] : (int)(unif() * nn);
    load[where[i]][BAL_CPU] += dem[i][BAL_CPU];
    load[where[i]][BAL_MEM] += dem[i][BAL_MEM];
  }
  for (int i = 0; i < ns; i++) {
    char name[32];
    snprintf(name, sizeof(name), "svc%05d", i);
    int s = bal_cluster_add_service(c, name, where[i], dem[i]);
    if (spread > 0) {
      double sd[BAL_NDIM] = {spread * dem[i][BAL_CPU], 0, 0};
      double lv[BAL_NDIM] = {dem[i][BAL_CPU] * (0.8 + 0.4 * unif()), NAN, NAN};
      bal_service_set_spread(c, s, sd);
      bal_service_set_level(c, s, lv, sd);
    }
    if (i % 100 == 0) /* a ban */
      bal_service_ban(c, s, (where[i] + 1) % nn);
    if (i % 250 == 1) /* a group of two */
      bal_service_colocate(c, s, s - 1);
    if (i % 500 == 2 && where[i] != where[i - 2]) /* kept apart */
      bal_service_separate(c, s, s - 2);
  }
  for (int n = 0; n < nn; n++)
    bal_node_set_load(c, n, load[n]);
  free(load);
  free(dem);
  free(where);
  return c;
}

/* Plans c `repeat` times; prints the best and worst time and what the last
 * plan did. Returns 0 or a negative errno. */
static int time_plan(const char *what, const bal_cluster_t *c,
                     const bal_params_t *p, int repeat) {
  double best = INFINITY, worst = 0;
  size_t moves = 0, notes = 0, unplaced = 0;
  for (int r = 0; r < repeat; r++) {
    bal_plan_t *plan = NULL;
    double t0 = now_s();
    int k = bal_plan_compute(c, p, &plan);
    if (k < 0)
      return k;
    double dt = now_s() - t0;
    best = fmin(best, dt);
    worst = fmax(worst, dt);
    moves = bal_plan_nmoves(plan);
    notes = bal_plan_nnotes(plan);
    unplaced = bal_plan_nunplaced(plan);
    bal_plan_free(plan);
  }
  printf("%-44s best %8.3f s   worst %8.3f s\n", what, best, worst);
  printf("  %zu moves, %zu notes, %zu left stopped\n", moves, notes, unplaced);
  return 0;
}

int main(int argc, char **argv) {
  int nn = 1000, ns = 20000, repeat = 3;
  double spread = 0;
  static const struct option opts[] = {
      {"nodes", required_argument, NULL, 'n'},
      {"services", required_argument, NULL, 's'},
      {"repeat", required_argument, NULL, 'r'},
      {"spread", required_argument, NULL, 'S'},
      {NULL, 0, NULL, 0}};
  int o;
  while ((o = getopt_long(argc, argv, "n:s:r:", opts, NULL)) != -1) {
    switch (o) {
    case 'n':
      nn = atoi(optarg);
      break;
    case 's':
      ns = atoi(optarg);
      break;
    case 'r':
      repeat = atoi(optarg);
      break;
    case 'S':
      spread = atof(optarg);
      break;
    default:
      fprintf(stderr, "usage: balance-speed [--nodes N] [--services S] "
                      "[--repeat R] [--spread F]\n");
      return 2;
    }
  }
  bal_cluster_t *c = build(nn, ns, spread);
  int over = 0;
  for (int n = 0; n < nn; n++)
    over += bal_node_util(c, n) > 0.8;
  printf("%d nodes, %d services, %d nodes above 80%%, spread %.2f; %d runs "
         "each\n",
         nn, ns, over, spread, repeat);
  bal_params_t p;
  bal_params_init(&p);
  p.max_moves = 8;
  if (time_plan("overload plan, default budget (8 moves)", c, &p, repeat) < 0)
    return 1;
  p.max_moves = 0;
  if (time_plan("overload plan, unlimited budget", c, &p, repeat) < 0)
    return 1;
  /* The busiest node fails. */
  int dead = 0;
  for (int n = 1; n < nn; n++)
    if (bal_node_util(c, n) > bal_node_util(c, dead))
      dead = n;
  bal_node_set_state(c, dead, BAL_NODE_OFFLINE);
  p.max_moves = 8;
  if (time_plan("failover of the busiest node + overloads", c, &p, repeat) < 0)
    return 1;
  bal_node_set_state(c, dead, BAL_NODE_ONLINE);
  double best = INFINITY, worst = 0;
  int absorbable = 0;
  int *ok = calloc((size_t)nn, sizeof(int));
  double *util = calloc((size_t)nn, sizeof(double));
  for (int r = 0; r < repeat; r++) {
    double t0 = now_s();
    if (bal_whatif_all(c, &p, ok, util) < 0)
      return 1;
    double dt = now_s() - t0;
    best = fmin(best, dt);
    worst = fmax(worst, dt);
  }
  absorbable = 0;
  for (int n = 0; n < nn; n++)
    absorbable += ok[n] == 1;
  free(ok);
  free(util);
  printf("%-44s best %8.3f s   worst %8.3f s\n", "what-if for every node", best,
         worst);
  printf("  %d of %d failures absorbable\n", absorbable, nn);
  bal_cluster_free(c);
  return 0;
}
