/* patmon-load: burns a chosen share of CPU, adjustable while it runs, so
 * that services of a test or demo cluster carry real, known load.
 *
 *   patmon-load [-n NAME] [-s CORES] [-f FILE] [-t TRACE [-S CORES] [-p SEC]]
 *               [-j THREADS] [-P MS]
 *
 * Each worker thread works in periods (-P, 100 ms): it spins until its own
 * CPU time in the period reaches its part of the target, then sleeps to the
 * period's end. Counting CPU time rather than wall time keeps the share right
 * on a busy machine as long as the scheduler gives it that much; a period it
 * could not fill is not made up later (no bursts).
 *
 * The target, in cores, is -s; or the number in FILE (-f), re-read when the
 * file changes (what the OCF agent writes on reload); or the trace (-t: one
 * value per line, percent of -S cores, -p seconds per line, wrapping
 * around). With both -f and -t the file's number multiplies the trace.
 * NAME only labels the process (ps, patterns: CMDLINE).
 *
 * Exit status: 0 on SIGTERM or SIGINT, 2 on bad arguments or an unreadable
 * trace. A FILE that is missing or holds no number keeps the last target. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MAX_TRACE 1000000

struct opts {
  double cores;       /* -s */
  const char *file;   /* -f */
  const char *trace;  /* -t */
  double trace_cores; /* -S */
  double step;        /* -p */
  unsigned threads;   /* -j */
  long period_ms;     /* -P */
};

/* The target in cores, shared by the workers; as bits of a double. */
static _Atomic unsigned long long target_bits;

static void set_target(double cores) {
  unsigned long long b;
  memcpy(&b, &cores, sizeof(b));
  atomic_store(&target_bits, b);
}

static double get_target(void) {
  unsigned long long b = atomic_load(&target_bits);
  double d;
  memcpy(&d, &b, sizeof(d));
  return d;
}

static int64_t ns_of(clockid_t id) {
  struct timespec t;
  clock_gettime(id, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

struct worker {
  unsigned n; /* number of workers: each burns target / n */
  long period_ms;
};

static void *work(void *arg) {
  const struct worker *w = arg;
  int64_t period = (int64_t)w->period_ms * 1000000;
  int64_t next = ns_of(CLOCK_MONOTONIC);
  volatile double sink = 1.0;
  for (;;) {
    next += period;
    double share = get_target() / w->n;
    int64_t want = (int64_t)(fmin(fmax(share, 0), 1) * (double)period);
    int64_t cpu0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    while (ns_of(CLOCK_THREAD_CPUTIME_ID) - cpu0 < want &&
           ns_of(CLOCK_MONOTONIC) < next)
      for (int i = 0; i < 2000; i++)
        sink = sink * 1.0000001 + 1e-9;
    int64_t now = ns_of(CLOCK_MONOTONIC);
    if (now >= next) { /* behind (a busy machine): start afresh, no burst */
      next = now;
      continue;
    }
    struct timespec ts = {.tv_sec = next / 1000000000,
                          .tv_nsec = next % 1000000000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
      ;
  }
  return NULL;
}

/* Reads the first number of path into *ret; -errno, or -EINVAL when the
 * file holds no number in [0, MAX_THREADS]. */
static int read_number(const char *path, double *ret) {
  FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  double v;
  int k = fscanf(f, "%lf", &v);
  fclose(f);
  if (k != 1 || !isfinite(v) || v < 0 || v > MAX_THREADS)
    return -EINVAL;
  *ret = v;
  return 0;
}

/* Loads the trace: one value per line (blank lines and # comments
 * skipped). */
static int load_trace(const char *path, double **ret, size_t *ret_n) {
  FILE *f = fopen(path, "re");
  if (!f) {
    fprintf(stderr, "patmon-load: %s: %s\n", path, strerror(errno));
    return -1;
  }
  double *v = NULL;
  size_t n = 0, cap = 0, line = 0;
  char buf[256];
  int r = 0;
  while (fgets(buf, sizeof(buf), f)) {
    line++;
    char *p = buf + strspn(buf, " \t");
    if (*p == '#' || *p == '\n' || *p == '\0')
      continue;
    char *end;
    double x = strtod(p, &end);
    if (end == p || !isfinite(x) || x < 0 || n >= MAX_TRACE) {
      p[strcspn(p, "\n")] = '\0';
      fprintf(stderr, "patmon-load: %s:%zu: not a percentage: '%s'\n", path,
              line, p);
      r = -1;
      break;
    }
    if (n == cap) {
      cap = cap ? 2 * cap : 256;
      double *nv = realloc(v, cap * sizeof(*v));
      if (!nv) {
        r = -1;
        break;
      }
      v = nv;
    }
    v[n++] = x;
  }
  fclose(f);
  if (r == 0 && n == 0) {
    fprintf(stderr, "patmon-load: %s: no values\n", path);
    r = -1;
  }
  if (r < 0) {
    free(v);
    return r;
  }
  *ret = v;
  *ret_n = n;
  return 0;
}

static void usage(FILE *out) {
  fputs("usage: patmon-load [-n NAME] [-s CORES] [-f FILE] [-t TRACE [-S "
        "CORES] [-p SEC]]\n"
        "                   [-j THREADS] [-P MS]\n"
        "  -s CORES   CPU to burn, in cores (default 0.1)\n"
        "  -f FILE    read the cores from FILE, re-read when it changes\n"
        "  -t TRACE   replay TRACE: one value per line, percent of -S cores\n"
        "  -S CORES   cores a trace value of 100 stands for (default 1)\n"
        "  -p SEC     seconds per trace line (default 1)\n"
        "  -j THREADS worker threads (default: enough for the target)\n"
        "  -P MS      duty-cycle period (default 100)\n"
        "  -n NAME    a label for ps and patterns; not used otherwise\n",
        out);
}

static int parse(int argc, char **argv, struct opts *o) {
  int c;
  char *end;
  while ((c = getopt(argc, argv, "n:s:f:t:S:p:j:P:h")) != -1) {
    errno = 0;
    switch (c) {
    case 'n':
      break;
    case 's':
      o->cores = strtod(optarg, &end);
      if (*end || !(o->cores >= 0 && o->cores <= MAX_THREADS))
        goto bad;
      break;
    case 'f':
      o->file = optarg;
      break;
    case 't':
      o->trace = optarg;
      break;
    case 'S':
      o->trace_cores = strtod(optarg, &end);
      if (*end || !(o->trace_cores > 0 && o->trace_cores <= MAX_THREADS))
        goto bad;
      break;
    case 'p':
      o->step = strtod(optarg, &end);
      if (*end || !(o->step > 0 && o->step <= 86400))
        goto bad;
      break;
    case 'j':
      o->threads = (unsigned)strtoul(optarg, &end, 10);
      if (*end || o->threads < 1 || o->threads > MAX_THREADS)
        goto bad;
      break;
    case 'P':
      o->period_ms = strtol(optarg, &end, 10);
      if (*end || o->period_ms < 10 || o->period_ms > 10000)
        goto bad;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      return -1;
    }
  }
  return optind == argc ? 0 : -1;
bad:
  fprintf(stderr, "patmon-load: -%c %s: out of range\n", c, optarg);
  return -1;
}

int main(int argc, char **argv) {
  struct opts o = {.cores = 0.1, .trace_cores = 1, .step = 1, .period_ms = 100};
  if (parse(argc, argv, &o) < 0) {
    usage(stderr);
    return 2;
  }
  double *trace = NULL;
  size_t ntrace = 0;
  if (o.trace && load_trace(o.trace, &trace, &ntrace) < 0)
    return 2;
  double peak = o.cores;
  if (trace) {
    peak = 0;
    for (size_t i = 0; i < ntrace; i++)
      peak = fmax(peak, trace[i] / 100 * o.trace_cores);
  }
  double scale = 1; /* from the file */
  if (o.file)
    read_number(o.file, trace ? &scale : &o.cores);
  if (!o.threads) /* a file may raise the target later: room for 1 core */
    o.threads = (unsigned)fmin(MAX_THREADS, fmax(1, ceil(peak * scale)));
  set_target(trace ? trace[0] / 100 * o.trace_cores * scale : o.cores);

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  struct worker w = {.n = o.threads, .period_ms = o.period_ms};
  for (unsigned i = 0; i < o.threads; i++) {
    pthread_t t;
    int r = pthread_create(&t, NULL, work, &w);
    if (r) {
      fprintf(stderr, "patmon-load: cannot start a thread: %s\n", strerror(r));
      return 1;
    }
    pthread_detach(t);
  }

  /* The control loop: the file and the trace, every 100 ms. */
  struct timespec mtime = {0};
  int64_t t0 = ns_of(CLOCK_MONOTONIC);
  for (;;) {
    struct timespec tick = {.tv_nsec = 100000000};
    int sig = sigtimedwait(&set, NULL, &tick);
    if (sig == SIGTERM || sig == SIGINT)
      return 0;
    struct stat st;
    if (o.file && stat(o.file, &st) == 0 &&
        (st.st_mtim.tv_sec != mtime.tv_sec ||
         st.st_mtim.tv_nsec != mtime.tv_nsec)) {
      mtime = st.st_mtim;
      read_number(o.file, trace ? &scale : &o.cores);
    }
    if (trace) {
      double sec = (double)(ns_of(CLOCK_MONOTONIC) - t0) / 1e9;
      size_t i = (size_t)(sec / o.step) % ntrace;
      set_target(trace[i] / 100 * o.trace_cores * scale);
    } else {
      set_target(o.cores);
    }
  }
}
