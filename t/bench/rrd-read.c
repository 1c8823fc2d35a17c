/* t/bench/rrd-read: the balancer's pread reader of an RRD window against
 * librrd's rrd_fetch_r, on every *.rrd file under a directory (issue 15,
 * "Scale"). Run by hand:
 *   t/bench/rrd-read DIR [WINDOW-SECONDS [END]]
 * (default 7200 s ending at the current minute, as a pass reads them).
 * Reads every file three times: with the pread reader, with librrd, then
 * both compared row by row (start, end, step, names, every value, NAN
 * where NAN). Prints the CPU time (user, system) and wall time of the
 * first two readings, the files librrd was left, and the files whose rows
 * differ (exit 1 when any does). */
#include "config.h"

#include "internal.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static struct {
  char **paths;
  size_t n, cap;
} files;

static int add(const char *path, const struct stat *st, int type,
               struct FTW *f) {
  (void)st;
  (void)f;
  size_t len = strlen(path);
  if (type != FTW_F || len < 4 || strcmp(path + len - 4, ".rrd") != 0)
    return 0;
  if (files.n == files.cap) {
    size_t cap = files.cap ? 2 * files.cap : 1024;
    char **p = realloc(files.paths, cap * sizeof(*p));
    if (!p)
      return -1;
    files.paths = p;
    files.cap = cap;
  }
  return (files.paths[files.n++] = strdup(path)) ? 0 : -1;
}

static double secs(struct timeval tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

/* Reads every file with one reader; prints its times. */
static void run(const char *name, bool librrd, time_t start, time_t end,
                size_t *ret_left, size_t *ret_failed) {
  struct rusage r0, r1;
  uint64_t t0 = pm_now_ns();
  getrusage(RUSAGE_SELF, &r0);
  for (size_t i = 0; i < files.n; i++) {
    struct bal_rrd_rows f;
    char why[256];
    int r = librrd ? bal_rrd_fetch_librrd(files.paths[i], start, end, 1, &f,
                                          why, sizeof(why))
                   : bal_rrd_fetch(files.paths[i], start, end, 1, &f, why,
                                   sizeof(why));
    if (r > 0)
      ++*ret_left;
    else if (r < 0)
      ++*ret_failed;
    bal_rrd_rows_free(&f);
  }
  getrusage(RUSAGE_SELF, &r1);
  double user = secs(r1.ru_utime) - secs(r0.ru_utime);
  double sys = secs(r1.ru_stime) - secs(r0.ru_stime);
  double wall = (double)(pm_now_ns() - t0) / 1e9;
  printf("%-6s %zu files: wall %.3f s, user %.3f s, system %.3f s, "
         "%.1f us CPU per file\n",
         name, files.n, wall, user, sys,
         files.n ? (user + sys) * 1e6 / (double)files.n : 0);
}

static bool same(const struct bal_rrd_rows *a, const struct bal_rrd_rows *b) {
  if (a->start != b->start || a->end != b->end || a->step != b->step ||
      a->nds != b->nds || a->last != b->last)
    return false;
  for (unsigned long j = 0; j < a->nds; j++)
    if (strcmp(a->names[j], b->names[j]) != 0)
      return false;
  size_t n = (size_t)((a->end - a->start) / (time_t)a->step) * a->nds;
  for (size_t i = 0; i < n; i++)
    if (isnan(a->data[i]) ? !isnan(b->data[i])
                          : memcmp(&a->data[i], &b->data[i], 8) != 0)
      return false;
  return true;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: %s DIR [WINDOW-SECONDS [END]]\n", argv[0]);
    return 2;
  }
  long window = argc > 2 ? atol(argv[2]) : 7200;
  time_t end = argc > 3 ? (time_t)atoll(argv[3]) : time(NULL);
  end -= end % 60;
  time_t start = end - window;
  if (nftw(argv[1], add, 64, FTW_PHYS) != 0) {
    perror(argv[1]);
    return 2;
  }
  size_t left = 0, failed = 0, lfailed = 0, ignored = 0, differ = 0;
  run("pread", false, start, end, &left, &failed);
  run("librrd", true, start, end, &ignored, &lfailed);
  for (size_t i = 0; i < files.n; i++) {
    struct bal_rrd_rows a, b;
    char why[256];
    int ra = bal_rrd_fetch(files.paths[i], start, end, 1, &a, why, sizeof(why));
    int rb = bal_rrd_fetch_librrd(files.paths[i], start, end, 1, &b, why,
                                  sizeof(why));
    if (ra == 0 && (rb != 0 || !same(&a, &b))) {
      if (differ++ < 5)
        printf("differs: %s\n", files.paths[i]);
    }
    bal_rrd_rows_free(&a);
    bal_rrd_rows_free(&b);
  }
  printf("window %ld s ending %lld: left to librrd %zu, errors %zu (librrd "
         "%zu), rows differing %zu\n",
         window, (long long)end, left, failed, lfailed, differ);
  for (size_t i = 0; i < files.n; i++)
    free(files.paths[i]);
  free(files.paths);
  return differ ? 1 : 0;
}
