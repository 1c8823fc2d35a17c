/* storm-lib: a storm against the hotplug library alone. MESSAGES socket
 * datagrams spread evenly over SECONDS, plus (as root, in a private network
 * namespace) PAIRS veth pairs added in the same time: two udev events each.
 * They are not deleted one by one (a deletion takes about 20 ms here): the
 * namespace takes them when the program exits. Reports batches delivered,
 * latency, memory; exits 1 when a bound is broken:
 *   batches <= storm duration / max_delay + 2 (a storm is cut, not relayed),
 *   every event delivered (or a rescan reported for lost udev events; block
 *   devices that others add meanwhile are counted too),
 *   first event of a batch to its delivery <= max_delay + 250 ms,
 *   RSS grows by less than 4 MiB.
 *
 *   storm-lib [-n MESSAGES] [-s SECONDS] [-p PAIRS] [-d DEBOUNCE_MS]
 *             [-D MAX_DELAY_MS] */
#include "config.h"

#include "hotplug/hotplug.h"
#include "pm.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ull
#define LATENCY_SLACK_MS 250
#define RSS_GROWTH_MAX_KB 4096
#define CHUNKS 10

static struct {
  int messages, pairs, debounce, max_delay;
  double seconds;
  char dir[64], sock[96];
  hp_watch_t *w;
  uint64_t start_ns;
} opt = {.messages = 5000,
         .pairs = 100,
         .seconds = 1.0,
         .debounce = 150,
         .max_delay = 1000};

/* What the consumer saw. */
static struct {
  unsigned batches, events, dropped, rescans;
  uint64_t max_latency_ns, last_delivery_ns;
} seen;
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

static void *consumer_main(void *arg) {
  (void)arg;
  static hp_batch_t b;
  for (;;) {
    int r = hp_watch_next(opt.w, -1, &b);
    if (r != HP_NEXT_BATCH)
      return NULL;
    uint64_t now = pm_now_ns();
    pthread_mutex_lock(&seen_lock);
    seen.batches++;
    seen.events += b.events;
    seen.dropped += b.dropped;
    if (b.kinds & HP_RESCAN)
      seen.rescans++;
    if (now - b.first_ns > seen.max_latency_ns)
      seen.max_latency_ns = now - b.first_ns;
    seen.last_delivery_ns = now;
    pthread_mutex_unlock(&seen_lock);
  }
}

static void sleep_until(uint64_t t_ns) {
  uint64_t now = pm_now_ns();
  if (t_ns <= now)
    return;
  struct timespec ts = {(time_t)((t_ns - now) / 1000000000u),
                        (long)((t_ns - now) % 1000000000u)};
  nanosleep(&ts, NULL);
}

static uint64_t spread_ns(void) { return (uint64_t)(opt.seconds * 1e9); }

static void *sender_main(void *arg) {
  (void)arg;
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.sock);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror("storm-lib: connect");
    exit(2);
  }
  for (int i = 0; i < opt.messages; i++) {
    sleep_until(opt.start_ns + spread_ns() * (uint64_t)i / opt.messages);
    char msg[64];
    int n = i % 3 ? snprintf(msg, sizeof(msg), "resource start rsc%d\n", i % 40)
                  : snprintf(msg, sizeof(msg), "volume add /srv/v%d\n", i % 8);
    if (send(fd, msg, (size_t)n, 0) < 0) {
      perror("storm-lib: send");
      exit(2);
    }
  }
  close(fd);
  return NULL;
}

static void batch_path(char *path, size_t len) {
  snprintf(path, len, "%s/ip.batch", opt.dir);
}

/* Adds pairs [from, to) with one ip -batch. */
static int add_pairs(int from, int to) {
  char path[128];
  batch_path(path, sizeof(path));
  pm_buf_t b = {0};
  for (int i = from; i < to; i++)
    pm_buf_printf(&b, "link add st%da type veth peer name st%db\n", i, i);
  int r = pm_file_replace(path, b.data ? b.data : "", b.len, 0600);
  pm_buf_free(&b);
  char *argv[] = {"ip", "-batch", path, NULL};
  int st = 0;
  if (r >= 0)
    r = pm_spawn(argv, 10000, NULL, NULL, &st);
  return r < 0 ? r : (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO);
}

/* Adds the pairs over the storm in CHUNKS steps. */
static void *nic_main(void *arg) {
  int *ret = arg;
  int per = (opt.pairs + CHUNKS - 1) / CHUNKS;
  for (int k = 0; k < CHUNKS && *ret == 0; k++) {
    sleep_until(opt.start_ns + spread_ns() * (uint64_t)k / CHUNKS);
    int from = k * per, to = from + per > opt.pairs ? opt.pairs : from + per;
    if (from < to)
      *ret = add_pairs(from, to);
  }
  return NULL;
}

static long rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static int usage(void) {
  fprintf(stderr, "usage: storm-lib [-n MESSAGES] [-s SECONDS] [-p PAIRS] "
                  "[-d DEBOUNCE_MS] [-D MAX_DELAY_MS]\n");
  return 2;
}

int main(int argc, char **argv) {
  int c;
  while ((c = getopt(argc, argv, "n:s:p:d:D:")) != -1) {
    switch (c) {
    case 'n':
      opt.messages = atoi(optarg);
      break;
    case 's':
      opt.seconds = atof(optarg);
      break;
    case 'p':
      opt.pairs = atoi(optarg);
      break;
    case 'd':
      opt.debounce = atoi(optarg);
      break;
    case 'D':
      opt.max_delay = atoi(optarg);
      break;
    default:
      return usage();
    }
  }
  if (opt.messages < 1 || opt.seconds <= 0 || opt.pairs < 0)
    return usage();
  if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
    printf("storm-lib: no NIC events (needs root for a private network "
           "namespace)\n");
    opt.pairs = 0;
  }
  snprintf(opt.dir, sizeof(opt.dir), "/tmp/storm-lib.XXXXXX");
  if (!mkdtemp(opt.dir))
    return perror("storm-lib: mkdtemp"), 2;
  snprintf(opt.sock, sizeof(opt.sock), "%s/events.sock", opt.dir);
  hp_config_t cfg = {.sources = HP_SRC_SOCKET | (opt.pairs ? HP_SRC_UDEV : 0),
                     .socket_path = opt.sock,
                     .debounce_ms = opt.debounce,
                     .max_delay_ms = opt.max_delay};
  char why[HP_WHY_MAX];
  int r = hp_watch_new(&cfg, &opt.w, why, sizeof(why));
  if (r < 0) {
    fprintf(stderr, "storm-lib: %s\n", why);
    rmdir(opt.dir);
    return 2;
  }

  pthread_t consumer, sender, nic;
  int nic_r = 0;
  pthread_create(&consumer, NULL, consumer_main, NULL);
  long rss_before = rss_kb();
  struct rusage ru0, ru1;
  getrusage(RUSAGE_SELF, &ru0);
  opt.start_ns = pm_now_ns() + 10 * MS;
  pthread_create(&sender, NULL, sender_main, NULL);
  if (opt.pairs)
    pthread_create(&nic, NULL, nic_main, &nic_r);
  pthread_join(sender, NULL);
  if (opt.pairs)
    pthread_join(nic, NULL);
  uint64_t produced = pm_now_ns();
  unsigned expected = (unsigned)opt.messages + 2u * (unsigned)opt.pairs;

  /* Everything is delivered within max_delay of the last event. */
  uint64_t give_up = produced + (uint64_t)(opt.max_delay + 2000) * MS;
  for (;;) {
    pthread_mutex_lock(&seen_lock);
    bool done = seen.events >= expected || seen.rescans;
    pthread_mutex_unlock(&seen_lock);
    if (done || pm_now_ns() > give_up)
      break;
    usleep(10 * 1000);
  }
  hp_watch_wake(opt.w);
  pthread_join(consumer, NULL);
  getrusage(RUSAGE_SELF, &ru1);
  long rss_after = rss_kb();
  hp_watch_free(opt.w);
  char path[128];
  batch_path(path, sizeof(path));
  unlink(path);
  rmdir(opt.dir);

  double secs = (double)(produced - opt.start_ns) / 1e9;
  unsigned max_batches = (unsigned)(secs * 1000 / opt.max_delay) + 2;
  double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
               (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
               (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
               (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
  printf("storm-lib: %d messages + %d NIC events in %.2f s (debounce %d ms, "
         "max_delay %d ms)\n",
         opt.messages, 2 * opt.pairs, secs, opt.debounce, opt.max_delay);
  printf("batches: %u (bound %u)\n", seen.batches, max_batches);
  printf("events delivered: %u of %u (more: block devices of others on this "
         "machine), %u dropped, %u rescans for lost udev events\n",
         seen.events, expected, seen.dropped, seen.rescans);
  printf("max latency, first event of a batch to its delivery: %.1f ms "
         "(bound %d)\n",
         (double)seen.max_latency_ns / 1e6, opt.max_delay + LATENCY_SLACK_MS);
  printf("last event sent to last batch: %.1f ms\n",
         seen.last_delivery_ns > produced
             ? (double)(seen.last_delivery_ns - produced) / 1e6
             : 0.0);
  printf("peak RSS: %.1f MiB (%.1f MiB before the storm); CPU %.3f s\n",
         (double)rss_after / 1024, (double)rss_before / 1024, cpu);

  int bad = 0;
  if (nic_r < 0)
    bad = printf("FAIL: ip -batch: %s\n", strerror(-nic_r));
  if (seen.batches > max_batches)
    bad = printf("FAIL: too many batches\n");
  if (seen.events < expected && !seen.rescans)
    bad = printf("FAIL: events lost without a rescan\n");
  if (seen.dropped)
    bad = printf("FAIL: valid messages dropped\n");
  if (seen.max_latency_ns > (uint64_t)(opt.max_delay + LATENCY_SLACK_MS) * MS)
    bad = printf("FAIL: latency\n");
  if (rss_after - rss_before > RSS_GROWTH_MAX_KB)
    bad = printf("FAIL: memory grew by %ld KiB\n", rss_after - rss_before);
  return bad ? 1 : 0;
}
