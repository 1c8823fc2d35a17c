/* patmon-balance: moves services before nodes overload (see
 * patmon-balance(8)). A thin shell over libbalancer: options, logging,
 * signals, the daemon loop. */
#include "config.h"

#include "balancer.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
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
  bool once, daemon, dry_run, explain, check, use_syslog;
  int verbosity; /* highest level logged */
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
      "\n"
      "  -c, --config FILE  configuration (default %s/patmon/balance.conf)\n"
      "      --once         one pass, then exit (for cron)\n"
      "      --daemon       a pass every `interval` seconds; SIGHUP "
      "reloads the\n"
      "                     configuration, SIGTERM and SIGINT exit\n"
      "  -n, --dry-run      plan and report only (moves also need execute "
      "= true)\n"
      "  -x, --explain      print each move with its reason and the "
      "utilisation\n"
      "                     of every node before and after the plan\n"
      "      --check        check the configuration and exit\n"
      "      --syslog       log to syslog instead of stderr\n"
      "  -v, --verbose      log more (info, then debug)\n"
      "  -q, --quiet        log errors only\n"
      "  -h, --help         this help\n"
      "  -V, --version      the version\n",
      PM_SYSCONFDIR);
}

static int parse_args(int argc, char **argv, struct cli *o) {
  static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                       {"once", no_argument, NULL, 'o'},
                                       {"daemon", no_argument, NULL, 'd'},
                                       {"dry-run", no_argument, NULL, 'n'},
                                       {"explain", no_argument, NULL, 'x'},
                                       {"check", no_argument, NULL, 'k'},
                                       {"syslog", no_argument, NULL, 's'},
                                       {"verbose", no_argument, NULL, 'v'},
                                       {"quiet", no_argument, NULL, 'q'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"version", no_argument, NULL, 'V'},
                                       {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "c:nxvqhV", opts, NULL)) != -1) {
    switch (c) {
    case 'c':
      o->config = optarg;
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
  if (optind < argc || o->once + o->daemon + o->check != 1 ||
      (o->daemon && (o->dry_run || o->explain)))
    return -EINVAL;
  if (o->verbosity > BAL_LOG_DEBUG)
    o->verbosity = BAL_LOG_DEBUG;
  return 0;
}

static int one_pass(bal_engine_t *e, const struct cli *o) {
  pm_buf_t explain = {0};
  unsigned flags =
      (o->dry_run ? BAL_PASS_DRY_RUN : 0) | (o->explain ? BAL_PASS_EXPLAIN : 0);
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

static int run_daemon(bal_engine_t *e, struct cli *o) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  /* Signals wait for sigtimedwait between passes: no handler races. */
  sigprocmask(SIG_BLOCK, &set, NULL);
  int r = lock(e, o);
  if (r != 0)
    return r > 0 ? 0 : 1;
  log_line(o, BAL_LOG_NOTICE, "started");
  for (;;) {
    int k = one_pass(e, o);
    if (k < 0) {
      char msg[128];
      snprintf(msg, sizeof(msg), "pass failed: %s", strerror(-k));
      log_line(o, BAL_LOG_ERR, msg);
    }
    struct timespec wait = {.tv_sec = (time_t)bal_engine_interval(e)};
    int sig;
    while ((sig = sigtimedwait(&set, NULL, &wait)) == SIGHUP) {
      pm_error_t err = {0};
      char buf[1024];
      if (bal_engine_reload(e, &err) < 0) {
        snprintf(buf, sizeof(buf),
                 "reload failed, keeping the old "
                 "configuration: ");
        size_t l = strlen(buf);
        pm_error_str(&err, buf + l, sizeof(buf) - l);
        log_line(o, BAL_LOG_ERR, buf);
      } else {
        log_line(o, BAL_LOG_NOTICE, "configuration reloaded");
      }
      break; /* a pass with the new configuration right away */
    }
    if (sig == SIGTERM || sig == SIGINT) {
      log_line(o, BAL_LOG_NOTICE, "exiting on a signal");
      return 0;
    }
  }
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
  if (o.check) {
    printf("%s: OK\n", o.config);
    r = 0;
  } else if (o.daemon) {
    r = run_daemon(e, &o);
  } else {
    /* A dry run changes nothing and needs no lock. */
    int k = o.dry_run ? 0 : lock(e, &o);
    r = k > 0 ? 0 : k < 0 ? 1 : one_pass(e, &o) < 0 ? 1 : 0;
  }
  bal_engine_free(e);
  if (o.use_syslog)
    closelog();
  return r;
}
