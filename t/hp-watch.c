/* hp-watch: prints the batches of a hotplug watch, one line each, for the
 * integration tests (and for a person wondering what patmon would see).
 *
 *   hp-watch [-u] [-m] [-s SOCKET [-g GROUP]] [-d DEBOUNCE_MS] [-D MAX_MS]
 *            [-n BATCHES]
 *
 * First line: "ready udev=KIND"; then per batch "batch wall_ms=T age_ms=A
 * SUMMARY" where T is the CLOCK_REALTIME of delivery (to compare with
 * `date +%s%3N`) and A the time since the batch's first event. SIGTERM or
 * SIGINT end it cleanly through hp_watch_wake(). */
#include "config.h"

#include "hotplug/hotplug.h"
#include "pm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static hp_watch_t *watch;
static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
  hp_watch_wake(watch);
}

static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(void) {
  fprintf(stderr, "usage: hp-watch [-u] [-m] [-s SOCKET [-g GROUP]] "
                  "[-d DEBOUNCE_MS] [-D MAX_DELAY_MS] [-n BATCHES]\n");
  return 2;
}

int main(int argc, char **argv) {
  hp_config_t cfg = {0};
  long batches = -1;
  int opt;
  while ((opt = getopt(argc, argv, "ums:g:d:D:n:")) != -1) {
    switch (opt) {
    case 'u':
      cfg.sources |= HP_SRC_UDEV;
      break;
    case 'm':
      cfg.sources |= HP_SRC_MOUNTS;
      break;
    case 's':
      cfg.sources |= HP_SRC_SOCKET;
      cfg.socket_path = optarg;
      break;
    case 'g':
      cfg.socket_group = optarg;
      break;
    case 'd':
      cfg.debounce_ms = atoi(optarg);
      break;
    case 'D':
      cfg.max_delay_ms = atoi(optarg);
      break;
    case 'n':
      batches = atol(optarg);
      break;
    default:
      return usage();
    }
  }
  if (optind != argc)
    return usage();

  char why[HP_WHY_MAX] = "";
  int r = hp_watch_new(&cfg, &watch, why, sizeof(why));
  if (r < 0) {
    fprintf(stderr, "hp-watch: %s (%s)\n", why, strerror(-r));
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *kind = hp_watch_udev_kind(watch);
  printf("ready udev=%s\n", kind ? kind : "none");

  static hp_batch_t b;
  char line[4096];
  while (!stop && batches != 0) {
    r = hp_watch_next(watch, -1, &b);
    if (r < 0) {
      fprintf(stderr, "hp-watch: %s\n", strerror(-r));
      break;
    }
    if (r != HP_NEXT_BATCH)
      continue;
    hp_batch_format(&b, line, sizeof(line));
    printf("batch wall_ms=%lld age_ms=%.1f %s\n", wall_ms(),
           (double)(pm_now_ns() - b.first_ns) / 1e6, line);
    if (batches > 0)
      batches--;
  }
  hp_watch_free(watch);
  return r < 0 ? 1 : 0;
}
