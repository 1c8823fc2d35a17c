/* metrics.c: series from collectd's RRD files (librrd).
 *
 * Every series is resampled onto one grid (the window cut into steps, each
 * the mean of the RRD rows inside it) so node and service series line up
 * whatever their RRD step. A sample that is not known stays NAN: a missing
 * file, a stale file and an empty window are reported, never read as 0.
 *
 * With an rrdcached address, each file is flushed before it is read
 * (rrdc.c): collectd's rrdcached plugin leaves the latest samples (up to
 * the daemon's write timeout, 300 s by default) in the daemon, not in the
 * file. */
#include "config.h"

#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <rrd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void bal_grid_init(struct bal_grid *g, time_t now, unsigned window,
                   unsigned step) {
  g->step = step ? step : 60;
  g->end = now - now % (time_t)g->step;
  g->n = window / g->step;
  if (g->n < 2)
    g->n = 2;
}

/* librrd keeps its error text per thread. */
static void rrd_reason(char *buf, size_t len) {
  const char *e = rrd_get_error();
  snprintf(buf, len, "%s", e && *e ? e : "librrd failed");
  rrd_clear_error();
}

int bal_rrd_fetch_librrd(const char *path, time_t start, time_t end,
                         unsigned long step, struct bal_rrd_rows *ret,
                         char *why, size_t why_len) {
  *ret = (struct bal_rrd_rows){.librrd = true};
  time_t last = rrd_last_r(path);
  if (last <= 0) {
    rrd_reason(why, why_len);
    return -EIO;
  }
  ret->last = last;
  ret->start = start;
  ret->end = end;
  ret->step = step;
  if (rrd_fetch_r(path, "AVERAGE", &ret->start, &ret->end, &ret->step,
                  &ret->nds, &ret->names, &ret->data) != 0) {
    rrd_reason(why, why_len);
    ret->names = NULL;
    ret->data = NULL;
    ret->nds = 0;
    return -EIO;
  }
  return 0;
}

int bal_rrd_resample(const struct bal_rrd_rows *f, char *const *ds,
                     double scale, const struct bal_grid *g, double *out,
                     char *why, size_t why_len) {
  for (size_t i = 0; i < g->n; i++)
    out[i] = NAN;
  int r = 0;
  int idx[4] = {-1, -1, -1, -1};
  for (int k = 0; k < 4 && ds[k]; k++) {
    for (unsigned long j = 0; j < f->nds; j++)
      if (strcmp(f->names[j], ds[k]) == 0)
        idx[k] = (int)j;
    if (idx[k] < 0) {
      snprintf(why, why_len, "no data source '%s'", ds[k]);
      r = -EBADMSG;
    }
  }
  size_t rows = f->step ? (size_t)((f->end - f->start) / (time_t)f->step) : 0;
  double *sum = calloc(g->n + 1, sizeof(double));
  unsigned *cnt = calloc(g->n + 1, sizeof(unsigned));
  if (!sum || !cnt)
    r = -ENOMEM;
  /* Row i covers (start + i*step, start + (i+1)*step]; the rows ending in
   * (first, g->end] go to the cell holding their end. A row's cell follows
   * from the one before by adding (a division per row was a tenth of a
   * pass's reading once the rows came by pread). */
  time_t first = g->end - (time_t)(g->n * g->step), step = (time_t)f->step;
  size_t i = r == 0 && step > 0 && f->start < first
                 ? (size_t)((first - f->start) / step)
                 : 0;
  time_t t = f->start + (time_t)(i + 1) * step;
  size_t cell = t > first ? (size_t)((t - first - 1) / (time_t)g->step) : 0;
  time_t cell_end = first + (time_t)((cell + 1) * g->step);
  int nk = 0;
  while (nk < 4 && ds[nk])
    nk++;
  for (; r == 0 && i < rows && t <= g->end; i++, t += step) {
    while (t > cell_end) {
      cell++;
      cell_end += (time_t)g->step;
    }
    const double *row = f->data + i * f->nds;
    double v = 0;
    bool known = true;
    for (int k = 0; k < nk; k++) {
      double x = row[idx[k]];
      known &= !isnan(x);
      v += x;
    }
    if (known) {
      sum[cell] += v * scale;
      cnt[cell]++;
    }
  }
  for (size_t c = 0; r == 0 && c < g->n; c++)
    if (cnt[c])
      out[c] = sum[c] / cnt[c];
  free(sum);
  free(cnt);
  return r;
}

static int read_file(const char *path, bal_flusher_t *flush, char *const *ds,
                     double scale, const struct bal_grid *g, double *out,
                     time_t *ret_last, struct bal_rrd_cost *cost, char *why,
                     size_t why_len) {
  for (size_t i = 0; i < g->n; i++)
    out[i] = NAN;
  /* librrd opens the path itself, blocking: a FIFO there would hang the
   * balancer. Only a regular file goes to it. */
  int r = pm_regular_file(path);
  if (r < 0) {
    snprintf(why, why_len, "%s", pm_strerror(r));
    return r;
  }
  cost->files++;
  /* Only a file that exists is flushed: rrdcached creates none. */
  if (flush) {
    uint64_t t0 = pm_now_ns();
    r = bal_flusher_wait(flush, path, why, why_len);
    cost->flush_ns += pm_now_ns() - t0;
    if (r < 0)
      return r;
  }
  /* The rows read with pread (rrd-read.c); librrd for what that leaves. */
  time_t start = g->end - (time_t)(g->n * g->step), end = g->end;
  struct bal_rrd_rows f;
  r = bal_rrd_fetch(path, start, end, 1, &f, why, why_len);
  if (r > 0)
    r = bal_rrd_fetch_librrd(path, start, end, 1, &f, why, why_len);
  if (f.last > 0)
    *ret_last = f.last;
  if (r == 0)
    r = bal_rrd_resample(&f, ds, scale, g, out, why, why_len);
  bal_rrd_rows_free(&f);
  return r;
}

int bal_rrd_read(const char *path, bal_flusher_t *flush, char *const *ds,
                 double scale, const struct bal_grid *g, double *out,
                 time_t *ret_last, struct bal_rrd_cost *cost, char *why,
                 size_t why_len) {
  struct bal_rrd_cost mine = {0}, *c = cost ? cost : &mine;
  uint64_t t0 = pm_now_ns(), flush0 = c->flush_ns;
  int r = read_file(path, flush, ds, scale, g, out, ret_last, c, why, why_len);
  c->read_ns += pm_now_ns() - t0 - (c->flush_ns - flush0);
  return r;
}

int bal_template(const char *tpl, const char *host, const char *svc,
                 const char *measured, pm_buf_t *out) {
  /* %P and %T: the plugin directory and the type file stem of the measured
   * series, so forecast paths follow whatever the measured ones are. */
  char pdir[256] = "", stem[256] = "";
  if (measured) {
    const char *slash = strrchr(measured, '/');
    const char *base = slash ? slash + 1 : measured;
    snprintf(stem, sizeof(stem), "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot)
      *dot = '\0';
    if (slash) {
      const char *ps = slash;
      while (ps > measured && ps[-1] != '/')
        ps--;
      snprintf(pdir, sizeof(pdir), "%.*s", (int)(slash - ps), ps);
    }
  }
  const struct bal_kv kv[] = {
      {'h', host}, {'s', svc}, {'P', pdir}, {'T', stem}, {0, NULL}};
  return bal_subst(tpl, kv, out, NULL);
}

/* ---- which hosts may hold a service's file --------------------------- */

struct bal_present {
  size_t nnames, nhosts;
  uint64_t *bits; /* name-major: bit (name * nhosts + host) */
  char *scanned;  /* the template up to the end of its %s component */
};

struct comp {
  const char *text; /* the %s component for this name */
  size_t name;
};

static int comp_cmp(const void *a, const void *b) {
  return strcmp(((const struct comp *)a)->text, ((const struct comp *)b)->text);
}

static void present_set(struct bal_present *pr, size_t name, size_t host) {
  size_t bit = name * pr->nhosts + host;
  pr->bits[bit / 64] |= (uint64_t)1 << (bit % 64);
}

bool bal_present_may(const bal_present_t *pr, size_t name, size_t host) {
  if (!pr)
    return true;
  size_t bit = name * pr->nhosts + host;
  return pr->bits[bit / 64] >> (bit % 64) & 1;
}

void bal_present_free(bal_present_t *pr) {
  if (!pr)
    return;
  free(pr->bits);
  free(pr->scanned);
  free(pr);
}

/* Splits tpl at the one path component holding %s, which must hold no
 * other escape, and returns that component's offset and length; -1 when
 * the template is not of that shape. */
static int split_template(const char *tpl, size_t *ret_off, size_t *ret_len) {
  const char *s = strstr(tpl, "%s");
  if (!s || strstr(s + 2, "%s"))
    return -1;
  const char *b = s, *e = s + 2;
  while (b > tpl && b[-1] != '/')
    b--;
  while (*e && *e != '/')
    e++;
  for (const char *q = b; q < e; q++)
    if (*q == '%' && q != s)
      return -1;
  for (const char *q = tpl; q < b; q++)
    if (*q == '%' && q[1] == '%')
      return -1; /* keep it simple: no %% before the component */
  *ret_off = (size_t)(b - tpl);
  *ret_len = (size_t)(e - b);
  return 0;
}

bool bal_present_serves(const bal_present_t *pr, const char *tpl) {
  size_t off, len;
  return pr && split_template(tpl, &off, &len) == 0 &&
         strlen(pr->scanned) == off + len &&
         strncmp(pr->scanned, tpl, off + len) == 0;
}

/* Marks, for host h, the names whose component is an entry of dir (all of
 * them when the directory cannot be listed for another reason than its
 * absence: then the files are looked at one by one, as without this). */
static void scan_host(struct bal_present *pr, const char *dir,
                      const struct comp *comps, size_t ncomps, size_t h) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno != ENOENT && errno != ENOTDIR)
      for (size_t i = 0; i < pr->nnames; i++)
        present_set(pr, i, h);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    struct comp key = {.text = de->d_name};
    const struct comp *c =
        bsearch(&key, comps, ncomps, sizeof(*comps), comp_cmp);
    if (!c)
      continue;
    while (c > comps && strcmp(c[-1].text, de->d_name) == 0)
      c--;
    for (; c < comps + ncomps && strcmp(c->text, de->d_name) == 0; c++)
      present_set(pr, c->name, h);
  }
  closedir(d);
}

int bal_present_scan(const char *data_dir, const char *tpl, char *const *hosts,
                     size_t nhosts, char *const *names, size_t nnames,
                     bal_present_t **ret) {
  *ret = NULL;
  size_t off, len;
  if (split_template(tpl, &off, &len) < 0)
    return 0; /* another shape: every file is looked at */
  struct bal_present *pr = calloc(1, sizeof(*pr));
  struct comp *comps = calloc(nnames + 1, sizeof(*comps));
  char *comp_tpl = strndup(tpl + off, len);
  char *dir_tpl = strndup(tpl, off ? off - 1 : 0);
  pm_buf_t b = {0}, dir = {0};
  size_t ncomps = 0;
  int r = pr && comps && comp_tpl && dir_tpl ? 0 : -ENOMEM;
  if (r == 0) {
    pr->nnames = nnames;
    pr->nhosts = nhosts;
    pr->bits = calloc((nnames * nhosts + 63) / 64 + 1, sizeof(uint64_t));
    pr->scanned = strndup(tpl, off + len);
    if (!pr->bits || !pr->scanned)
      r = -ENOMEM;
  }
  /* A name whose component cannot be made, or spans directories, may be
   * anywhere: all its bits are set. */
  for (size_t i = 0; r == 0 && i < nnames; i++) {
    int k = bal_template(comp_tpl, NULL, names[i], NULL, &b);
    if (k == -ENOMEM) {
      r = k;
    } else if (k < 0 || strchr(b.data, '/')) {
      for (size_t h = 0; h < nhosts; h++)
        present_set(pr, i, h);
    } else if (!(comps[ncomps].text = strdup(b.data))) {
      r = -ENOMEM;
    } else {
      comps[ncomps++].name = i;
    }
  }
  if (r == 0)
    qsort(comps, ncomps, sizeof(*comps), comp_cmp);
  for (size_t h = 0; r == 0 && h < nhosts; h++) {
    int k = 0;
    pm_buf_reset(&dir);
    if (*dir_tpl)
      k = bal_template(dir_tpl, hosts[h], NULL, NULL, &b);
    if (k == -ENOMEM ||
        (k == 0 && pm_buf_printf(&dir, "%s%s%s", data_dir, *dir_tpl ? "/" : "",
                                 *dir_tpl ? b.data : "") < 0)) {
      r = -ENOMEM;
    } else if (k < 0) { /* the old way reports it */
      for (size_t i = 0; i < nnames; i++)
        present_set(pr, i, h);
    } else {
      scan_host(pr, dir.data, comps, ncomps, h);
    }
  }
  for (size_t i = 0; i < ncomps; i++)
    free((char *)comps[i].text);
  free(comps);
  free(comp_tpl);
  free(dir_tpl);
  pm_buf_free(&b);
  pm_buf_free(&dir);
  if (r < 0) {
    bal_present_free(pr);
    return r;
  }
  *ret = pr;
  return 0;
}
