/* patmon-balance: moves services before nodes overload (see
 * patmon-balance(8)). A thin shell over libbalancer: options, logging,
 * signals, the daemon loop. */
#include "config.h"

#include "avail/avail.h"
#include "balancer.h"
#include "events.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#ifndef PM_SYSCONFDIR
#define PM_SYSCONFDIR "/etc"
#endif

struct cli {
  const char *config;
  bool once, daemon, dry_run, explain, check, use_syslog, availability;
  const char *since; /* --since: the availability report's window */
  const char *zone;  /* --zone */
  int verbosity;     /* highest level logged */
};

static const char *const level_names[] = {"error", "warning", "notice", "info",
                                          "debug"};
static const int syslog_levels[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
                                    LOG_DEBUG};

static void log_line(void *ud, enum bal_log_level lvl, const char *msg) {
  const struct cli *o = ud;
  if ((int)lvl > o->verbosity)
    return;
  if (o->use_syslog)
    syslog(syslog_levels[lvl], "%s", msg);
  else
    fprintf(stderr, "patmon-balance: %s: %s\n", level_names[lvl], msg);
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: patmon-balance [-c CONFIG] --once [--dry-run] [--explain]\n"
      "       patmon-balance [-c CONFIG] --daemon [--syslog]\n"
      "       patmon-balance [-c CONFIG] --check\n"
      "       patmon-balance [-c CONFIG] --availability [--since 30d]\n"
      "\n"
      "  -c, --config FILE  configuration (default %s/patmon/balance.conf)\n"
      "  -z, --zone ZONE    this instance's zone (overrides the `zone` "
      "option):\n"
      "                     it plans its zone and trades surplus and spare "
      "with\n"
      "                     the other zones' instances through records in "
      "the CIB;\n"
      "                     it reads only the nodes of the zones it plans; "
      "the\n"
      "                     lowest live zone's instance does the cluster's "
      "duties\n"
      "                     (offline journal and hooks, availability, "
      "balancer/\n"
      "                     values, event socket)\n"
      "      --once         one pass, then exit (for cron)\n"
      "      --daemon       a pass every `interval` seconds, and at once "
      "when a node\n"
      "                     is lost (event_socket) or on SIGUSR1; SIGHUP "
      "reloads\n"
      "                     the configuration, SIGTERM and SIGINT exit\n"
      "  -n, --dry-run      plan and report only (moves also need execute "
      "= true)\n"
      "  -x, --explain      print each move with its reason and the "
      "utilisation\n"
      "                     of every node before and after the plan\n"
      "      --check        check the configuration and exit\n"
      "      --availability print failures, MTTF, MTTR and availability "
      "per node\n"
      "                     and resource from the availability journal\n"
      "      --since DUR    the report's window: 24h, 7d, 30d (default), "
      "... or all\n"
      "      --syslog       log to syslog instead of stderr\n"
      "  -v, --verbose      log more (info, then debug)\n"
      "  -q, --quiet        log errors only\n"
      "  -h, --help         this help\n"
      "  -V, --version      the version\n",
      PM_SYSCONFDIR);
}

static int parse_args(int argc, char **argv, struct cli *o) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"zone", required_argument, NULL, 'z'},
                                       {"once", no_argument, NULL, 'o'},
                                       {"daemon", no_argument, NULL, 'd'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {"explain", no_argument, NULL, 'x'},
                                       {"check", no_argument, NULL, 'k'},
                                       {"availability", no_argument, NULL, 'a'},
                                       {"since", required_argument, NULL, 'S'},
                                       {"syslog", no_argument, NULL, 's'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "c:z:nxvqhV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      o->config = optarg;
      break;
    case 'z':
      o->zone = optarg;
      break;
    case 'o':
      o->once = true;
      break;
    case 'd':
      o->daemon = true;
      break;
    case 'n':
      o->dry_run = true;
      break;
    case 'x':
      o->explain = true;
      break;
    case 'k':
      o->check = true;
      break;
    case 'a':
      o->availability = true;
      break;
    case 'S':
      o->since = optarg;
      break;
    case 's':
      o->use_syslog = true;
      break;
    case 'v':
      o->verbosity++;
      break;
    case 'q':
      o->verbosity = BAL_LOG_ERR;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'V':
      printf("patmon-balance %s\n", PACKAGE_VERSION);
      exit(0);
    default:
      return -EINVAL;
    }
  }
  if (optind < argc || o->once + o->daemon + o->check + o->availability != 1 ||
      (o->since && !o->availability) ||
      (o->daemon && (o->dry_run || o->explain)))
    return -EINVAL;
  if (o->verbosity > BAL_LOG_DEBUG)
    o->verbosity = BAL_LOG_DEBUG;
  return 0;
}

static int one_pass(bal_engine_t *e, const struct cli *o, unsigned more) {
  pm_buf_t explain = {0};
  unsigned flags = more | (o->dry_run ? BAL_PASS_DRY_RUN : 0) |
                   (o->explain ? BAL_PASS_EXPLAIN : 0);
  int r = bal_engine_pass(e, flags, o->explain ? &explain : NULL);
  if (explain.len)
    fputs(explain.data, stdout);
  fflush(stdout);
  pm_buf_free(&explain);
  return r;
}

/* Takes the lock that makes this the one decision-maker. 1 when another
 * instance holds it. */
static int lock(bal_engine_t *e, const struct cli *o) {
  int r = bal_engine_lock(e);
  if (r == -EWOULDBLOCK) {
    log_line((void *)o, BAL_LOG_NOTICE,
             "another instance holds the lock: not the active decision-maker");
    return 1;
  }
  if (r < 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "cannot take the lock: %s", strerror(-r));
    log_line((void *)o, BAL_LOG_ERR, msg);
    return r;
  }
  return 0;
}

static void logf_line(const struct cli *o, enum bal_log_level lvl,
                      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_line(const struct cli *o, enum bal_log_level lvl,
                      const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  log_line((void *)o, lvl, msg);
}

/* After "node lost NODE", passes repeat every RETRY_MS until crm_mon shows
 * NODE offline (the DC records it a moment after corosync told every
 * member), for LOST_WAIT_S at most. */
#define RETRY_MS 250
#define LOST_WAIT_S 15
/* While own_resource runs nowhere yet (its start not recorded). */
#define WAITING_MS 1000
/* After a node is lost the cluster recovers in parallel: until a pass
 * finds every service running within capacity, the next comes after
 * SETTLE_MS, for SETTLE_S at most; the hooks for the node wait for that
 * pass. */
#define SETTLE_MS 1000
#define SETTLE_S 30
#define MAX_PENDING 64

struct pending { /* nodes lost that crm_mon does not show offline yet */
  char *node[MAX_PENDING];
  size_t n;
  struct timespec until;
};

static double mono_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Takes the news of the event socket: logs it, and adds the nodes lost to
 * pend. Whether there was any. */
static bool take_news(bal_engine_t *e, bal_events_t *ev, struct pending *pend,
                      double now, const struct cli *o) {
  bal_events_news_t n;
  bal_events_take(ev, &n);
  bool any = n.lost || n.joined || n.dropped;
  for (size_t i = 0; i < n.nnodes; i++) {
    const struct bal_node_news *nn = &n.nodes[i];
    int r = bal_engine_avail_event(e, nn->lost, nn->fenced, nn->node, nn->t_ms);
    if (r < 0)
      logf_line(o, BAL_LOG_ERR, "availability journal: node %s %s: %s",
                nn->node,
                nn->fenced ? "fenced"
                : nn->lost ? "lost"
                           : "member",
                strerror(-r));
  }
  for (char **l = n.lost; l && *l; l++) {
    logf_line(o, BAL_LOG_NOTICE, "node %s lost: replanning now", *l);
    if (pend->n < MAX_PENDING && (pend->node[pend->n] = strdup(*l)))
      pend->n++;
  }
  if (n.lost)
    pend->until.tv_sec = (time_t)(now + LOST_WAIT_S);
  if (n.joined)
    logf_line(o, BAL_LOG_INFO, "%u node(s) joined: replanning now", n.joined);
  if (n.dropped)
    logf_line(o, BAL_LOG_WARNING, "event socket: %u dropped, first: %s",
              n.dropped, n.first_dropped);
  bal_events_news_free(&n);
  return any;
}

/* Forgets the nodes the last pass saw offline; gives up on the others
 * after LOST_WAIT_S. Returns whether some are still awaited. */
static bool still_pending(bal_engine_t *e, struct pending *pend, double now,
                          const struct cli *o) {
  size_t k = 0;
  for (size_t i = 0; i < pend->n; i++) {
    if (bal_engine_saw_offline(e, pend->node[i]))
      free(pend->node[i]);
    else if (now > (double)pend->until.tv_sec) {
      logf_line(o, BAL_LOG_WARNING,
                "node %s was reported lost, but crm_mon has not shown it "
                "offline for %d s: back to the interval",
                pend->node[i], LOST_WAIT_S);
      free(pend->node[i]);
    } else {
      pend->node[k++] = pend->node[i];
    }
  }
  pend->n = k;
  return k > 0;
}

static void reload(bal_engine_t *e, const struct cli *o) {
  pm_error_t err = {0};
  char buf[1024];
  if (bal_engine_reload(e, &err) < 0)
    logf_line(o, BAL_LOG_ERR,
              "reload failed, keeping the old configuration: %s",
              pm_error_str(&err, buf, sizeof(buf)));
  else
    log_line((void *)o, BAL_LOG_NOTICE,
             "configuration reloaded (a new event_socket takes a restart)");
}

/* The event socket is the leader's (bal_engine_leads: always without a
 * zone): bound when this instance comes to lead, retried each pass while
 * another process holds it (said once), closed when it stops leading.
 * Without a zone: bound once at the start, as ever. */
static void follow_lead(bal_engine_t *e, const struct cli *o, const char *path,
                        const char *group, bal_events_t **ev, bool *failed) {
  bool lead = bal_engine_leads(e);
  if (!lead)
    *failed = false;
  if (!path || lead == (*ev != NULL) || (*failed && !bal_engine_zone(e)))
    return;
  if (!lead) {
    bal_events_stop(*ev);
    *ev = NULL;
    logf_line(o, BAL_LOG_NOTICE,
              "another zone's instance leads now: event socket %s closed",
              path);
    return;
  }
  char why[256] = "";
  if (bal_events_start(path, group, pthread_self(), ev, why, sizeof(why)) < 0) {
    *ev = NULL;
    if (!*failed)
      logf_line(o, BAL_LOG_ERR,
                "event socket %s: %s; a lost node waits for the next pass",
                path, why);
    *failed = true;
    return;
  }
  *failed = false;
  if (bal_engine_zone(e))
    logf_line(o, BAL_LOG_NOTICE,
              "this instance leads the zones: node events on %s", path);
}

static int run_daemon(bal_engine_t *e, struct cli *o) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  /* Signals wait for sigtimedwait between passes: no handler races. The
   * event thread inherits the mask and wakes this thread with SIGUSR1. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  int r = lock(e, o);
  if (r != 0)
    return r > 0 ? 0 : 1;
  bal_events_t *ev = NULL;
  const char *group;
  const char *conf_path = bal_engine_event_socket(e, &group);
  /* Kept: a reload frees the configuration (a new socket takes a
   * restart). */
  char *path = conf_path ? strdup(conf_path) : NULL;
  char *grp = conf_path && group ? strdup(group) : NULL;
  bool failed = false;
  follow_lead(e, o, path, grp, &ev, &failed);
  logf_line(o, BAL_LOG_NOTICE, "started%s%s", ev ? ", node events on " : "",
            ev ? path : "");
  struct pending pend = {0};
  double settle_until = 0;
  int sig = 0;
  while (sig != SIGTERM && sig != SIGINT) {
    bool settling = mono_s() < settle_until;
    int k = one_pass(e, o, settling ? BAL_PASS_SETTLING : 0);
    if (k < 0)
      logf_line(o, BAL_LOG_ERR, "pass failed: %s", strerror(-k));
    else
      logf_line(o, BAL_LOG_DEBUG, "pass over: %d move(s) planned", k);
    follow_lead(e, o, path, grp, &ev, &failed);
    double now = mono_s();
    long wait_ms = (long)bal_engine_interval(e) * 1000;
    if (settling && bal_engine_settling(e) && wait_ms > SETTLE_MS)
      wait_ms = SETTLE_MS;
    else if (settling && k >= 0 && !pend.n)
      settle_until = 0; /* settled: told, back to the interval */
    if (still_pending(e, &pend, now, o))
      wait_ms = RETRY_MS;
    if (bal_engine_role(e) == BAL_ROLE_WAITING && wait_ms > WAITING_MS)
      wait_ms = WAITING_MS;
    struct timespec wait = {.tv_sec = wait_ms / 1000,
                            .tv_nsec = wait_ms % 1000 * 1000000};
    do
      sig = sigtimedwait(&set, NULL, &wait);
    while (sig < 0 && errno == EINTR);
    if (sig == SIGHUP)
      reload(e, o); /* and a pass with it right away */
    else if (sig == SIGUSR1 && !(ev && take_news(e, ev, &pend, mono_s(), o)))
      log_line(o, BAL_LOG_INFO, "SIGUSR1: a pass now");
    if (pend.n)
      settle_until = mono_s() + SETTLE_S;
  }
  log_line(o, BAL_LOG_NOTICE, "exiting on a signal");
  bal_engine_tell(e);
  bal_events_stop(ev);
  free(path);
  free(grp);
  for (size_t i = 0; i < pend.n; i++)
    free(pend.node[i]);
  return 0;
}

/* --availability: the table over the --since window, from the journal. */
static int availability(bal_engine_t *e, const struct cli *o) {
  const char *path = bal_engine_availability_journal(e);
  int64_t win = 30 * AV_DAY_MS;
  if (o->since && strcmp(o->since, "all") != 0 &&
      av_parse_duration(o->since, &win) < 0) {
    logf_line(o, BAL_LOG_ERR,
              "--since %s: expected a number and s, m, h or d (30d), or all",
              o->since);
    return 2;
  }
  if (!path) {
    log_line((void *)o, BAL_LOG_ERR,
             "no availability_journal in the configuration");
    return 1;
  }
  av_event_t *ev = NULL;
  size_t n = 0;
  av_load_t ld;
  pm_error_t err = {0};
  char buf[1024];
  int r = av_journal_load(path, &ev, &n, &ld, &err);
  if (r < 0) {
    logf_line(o, BAL_LOG_ERR, "%s", pm_error_str(&err, buf, sizeof(buf)));
    return 1;
  }
  if (ld.skipped)
    logf_line(o, BAL_LOG_WARNING, "%u line(s) skipped, first: %s", ld.skipped,
              pm_error_str(&ld.first, buf, sizeof(buf)));
  int64_t now_ms = pm_wall_ms();
  bool all = o->since && strcmp(o->since, "all") == 0;
  av_report_t *rep = NULL;
  pm_buf_t out = {0};
  r = av_report_new(ev, n, all ? INT64_MIN : now_ms - win, now_ms, &rep);
  if (r == 0)
    r = av_report_format(rep, &out);
  if (r == 0) {
    printf("availability over %s%s, from %s (%zu events)\n",
           all ? "all the history" : "the last ",
           all        ? ""
           : o->since ? o->since
                      : "30d",
           path, n);
    fputs(out.data, stdout);
  } else {
    logf_line(o, BAL_LOG_ERR, "availability report: %s", strerror(-r));
  }
  pm_buf_free(&out);
  av_report_free(rep);
  free(ev);
  return r < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
  struct cli o = {.config = PM_SYSCONFDIR "/patmon/balance.conf",
                  .verbosity = BAL_LOG_NOTICE};
  if (parse_args(argc, argv, &o) < 0) {
    usage(stderr);
    return 2;
  }
  if (o.use_syslog)
    openlog("patmon-balance", LOG_PID, LOG_DAEMON);
  bal_engine_t *e = NULL;
  pm_error_t err = {0};
  int r = bal_engine_new(o.config, &e, &err);
  if (r < 0) {
    char buf[1024];
    log_line(&o, BAL_LOG_ERR, pm_error_str(&err, buf, sizeof(buf)));
    return 2;
  }
  bal_engine_set_log(e, log_line, &o);
  if (o.zone && bal_engine_set_zone(e, o.zone) < 0) {
    logf_line(&o, BAL_LOG_ERR,
              "--zone %s: a zone name is 1-32 of [A-Za-z0-9_-]", o.zone);
    bal_engine_free(e);
    return 2;
  }
  if (o.check) {
    printf("%s: OK\n", o.config);
    r = 0;
  } else if (o.availability) {
    r = availability(e, &o);
  } else if (o.daemon) {
    r = run_daemon(e, &o);
  } else {
    /* A dry run changes nothing and needs no lock. */
    int k = o.dry_run ? 0 : lock(e, &o);
    r = k > 0 ? 0 : k < 0 ? 1 : one_pass(e, &o, 0) < 0 ? 1 : 0;
  }
  bal_engine_free(e);
  if (o.use_syslog)
    closelog();
  return r;
}
