/* rrd-read.c: the rows of one RRA that a window needs, read with pread.
 *
 * librrd's rrd_fetch_r maps the whole file (150-300 KB with collectd's 15
 * RRAs), advises and unmaps it: about 0.4 ms per file, mostly system time,
 * most of a 43,000-file pass's CPU. A window needs some 720 rows of one
 * RRA. This reads the header and those rows with pread, under the shared
 * lock librrd takes, and returns what rrd_fetch_r(path, "AVERAGE", ...)
 * returns in librrd 1.7.2 (rrd_fetch.c): the same RRA, start, end, step
 * and values, NAN outside the RRA's rows. A file it does not know (another
 * version or architecture, a header that does not add up, a lock held) is
 * left to librrd, which reads it or says why not. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
/* rrd_format.h: the on-disk header. librrd calls its structs an internal
 * export; the file format they describe is stable (an RRD file moves
 * between rrdtool versions), and head_parse checks cookie, version and
 * float cookie before it trusts them. */
#define RRD_EXPORT_DEPRECATED
#include <rrd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
  COUNT_MAX = 4096,    /* data sources, RRAs */
  HEAD_MAX = 4 << 20,  /* a header's bytes */
  HEAD_FIRST = 8192,   /* the first read: all of collectd's headers */
  ROWS_MAX = 1L << 30, /* rows of an RRA (librrd loops with int) */
  SPAN_MAX = 1L << 40, /* seconds an RRA spans: no overflow below */
};

/* Which RRAs rrd_fetch_r considers for "AVERAGE": AVERAGE ones, and any of
 * MIN, MAX, LAST holding primary data points (pdp_cnt 1). The other
 * functions librrd knows are never chosen; a name it does not know makes
 * it set an error text, so that file is left to it. */
static const struct {
  const char *name;
  bool any, single;
} cfs[] = {
    {"AVERAGE", true, true},       {"MIN", false, true},
    {"MAX", false, true},          {"LAST", false, true},
    {"HWPREDICT", false, false},   {"MHWPREDICT", false, false},
    {"DEVPREDICT", false, false},  {"SEASONAL", false, false},
    {"DEVSEASONAL", false, false}, {"FAILURES", false, false},
};

/* 1 when RRA d may be chosen, 0 when not, -1 for an unknown function. */
static int rra_eligible(const rra_def_t *d) {
  if (!memchr(d->cf_nam, '\0', sizeof(d->cf_nam)))
    return -1;
  for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++)
    if (strcmp(d->cf_nam, cfs[i].name) == 0)
      return cfs[i].any || (cfs[i].single && d->pdp_cnt == 1);
  return -1;
}

/* The header as far as the rows need it, from a whole header in buf. */
struct head {
  size_t nds, nrra, len; /* len: the header's bytes (rows start there) */
  unsigned long pdp_step;
  time_t last;
  const unsigned char *ds, *rra, *ptr; /* ds_def_t, rra_def_t, rra_ptr_t */
};

static void rra_at(const struct head *h, size_t i, rra_def_t *ret) {
  memcpy(ret, h->rra + i * sizeof(rra_def_t), sizeof(*ret));
}

/* Fills h from the first got bytes of buf; 0, or 1 with *ret_need > got
 * when the header is longer, or -1 when it is not one this reads. */
static int head_parse(const unsigned char *buf, size_t got, struct head *h,
                      size_t *ret_need) {
  stat_head_t sh;
  if (got < sizeof(sh))
    return -1;
  memcpy(&sh, buf, sizeof(sh));
  if (memcmp(sh.cookie, RRD_COOKIE, sizeof(RRD_COOKIE)) != 0 ||
      (memcmp(sh.version, RRD_VERSION3, sizeof(RRD_VERSION3)) != 0 &&
       memcmp(sh.version, RRD_VERSION4, sizeof(RRD_VERSION4)) != 0 &&
       memcmp(sh.version, RRD_VERSION5, sizeof(RRD_VERSION5)) != 0) ||
      sh.float_cookie != FLOAT_COOKIE || sh.ds_cnt - 1 >= COUNT_MAX ||
      sh.rra_cnt - 1 >= COUNT_MAX)
    return -1;
  h->nds = sh.ds_cnt;
  h->nrra = sh.rra_cnt;
  h->pdp_step = sh.pdp_step;
  size_t live = sizeof(sh) + h->nds * sizeof(ds_def_t) +
                h->nrra * sizeof(rra_def_t),
         ptr = live + sizeof(live_head_t) + h->nds * sizeof(pdp_prep_t) +
               h->nrra * h->nds * sizeof(cdp_prep_t);
  h->len = ptr + h->nrra * sizeof(rra_ptr_t);
  if (h->len > HEAD_MAX)
    return -1;
  if (h->len > got) {
    *ret_need = h->len;
    return 1;
  }
  live_head_t lh;
  memcpy(&lh, buf + live, sizeof(lh));
  /* A last update that does not check out: librrd's rrd_last_r decides. */
  if (lh.last_up <= 0 || lh.last_up_usec < 0 || lh.last_up_usec >= 1000000)
    return -1;
  h->last = lh.last_up;
  h->ds = buf + sizeof(sh);
  h->rra = buf + sizeof(sh) + h->nds * sizeof(ds_def_t);
  h->ptr = buf + ptr;
  return 0;
}

/* rrd_fetch_fn's choice: among the eligible RRAs, one that covers the
 * start (from the last update back, in its own step), the step nearest
 * the one asked (the first of equals); else the one covering most of the
 * window, then the nearest step. *ret the RRA, -1 when none; 1 when the
 * file is left to librrd. */
static int rra_choose(const struct head *h, time_t start, time_t end,
                      unsigned long step, long *ret) {
  long full = -1, part = -1, full_diff = 0, part_diff = 0;
  time_t part_match = 0;
  for (size_t i = 0; i < h->nrra; i++) {
    rra_def_t d;
    rra_at(h, i, &d);
    int ok = rra_eligible(&d);
    if (ok < 0)
      return 1;
    if (!ok)
      continue;
    long rstep = (long)(d.pdp_cnt * h->pdp_step);
    time_t cal_end = h->last - h->last % rstep;
    time_t cal_start = cal_end - rstep * (long)d.row_cnt;
    long diff = labs((long)step - rstep);
    if (cal_start <= start) {
      if (full < 0 || diff < full_diff) {
        full = (long)i;
        full_diff = diff;
      }
    } else {
      time_t match = (end - start) - (cal_start - start);
      if (part < 0 || part_match < match ||
          (part_match == match && diff < part_diff)) {
        part = (long)i;
        part_match = match;
        part_diff = diff;
      }
    }
  }
  *ret = full >= 0 ? full : part;
  return 0;
}

/* Checks what librrd would divide by or run past. 0 when sound; 1 when
 * the file is left to librrd (spans that would overflow, a ring pointer
 * outside its RRA, a file shorter than its header says: librrd reads past
 * nothing then, it checks the length); -EBADMSG with the reason in why for
 * a zero step or row count, where librrd would divide by zero. */
static int head_check(const struct head *h, off_t size, char *why,
                      size_t why_len) {
  if (h->pdp_step == 0) {
    snprintf(why, why_len, "bad RRD header: a step of 0 s");
    return -EBADMSG;
  }
  uint64_t values = 0;
  int r = h->pdp_step > SPAN_MAX;
  for (size_t i = 0; i < h->nrra; i++) {
    rra_def_t d;
    rra_ptr_t p;
    rra_at(h, i, &d);
    memcpy(&p, h->ptr + i * sizeof(p), sizeof(p));
    if (d.pdp_cnt == 0 || d.row_cnt == 0) {
      snprintf(why, why_len, "bad RRD header: RRA %zu: %lu rows of %lu steps",
               i, d.row_cnt, d.pdp_cnt);
      return -EBADMSG;
    }
    if (d.row_cnt > ROWS_MAX || d.pdp_cnt > SPAN_MAX / h->pdp_step ||
        d.pdp_cnt * h->pdp_step > SPAN_MAX / d.row_cnt ||
        p.cur_row >= d.row_cnt)
      r = 1;
    else
      values += (uint64_t)d.row_cnt * h->nds;
  }
  if (r == 0 && (size < 0 || (uint64_t)size < h->len ||
                 (uint64_t)size - h->len < values * sizeof(rrd_value_t)))
    r = 1;
  return r;
}

/* Reads the header into *ret_buf (the caller frees it). 0, 1 when the file
 * is left to librrd, or -ENOMEM. */
static int head_read(int fd, unsigned char **ret_buf, struct head *h) {
  size_t need = HEAD_FIRST;
  unsigned char *buf = malloc(need);
  if (!buf)
    return -ENOMEM;
  ssize_t got = pread(fd, buf, need, 0);
  int k = got < 0 ? -1 : head_parse(buf, (size_t)got, h, &need);
  if (k == 1) {
    unsigned char *more = realloc(buf, need);
    if (!more) {
      free(buf);
      return -ENOMEM;
    }
    buf = more;
    got = pread(fd, buf, need, 0);
    k = got == (ssize_t)need ? head_parse(buf, (size_t)got, h, &need) : -1;
  }
  if (k != 0) {
    free(buf);
    return 1;
  }
  *ret_buf = buf;
  return 0;
}

/* Reads n rows of RRA base (row_cnt rows of nds values) from ring slot
 * first on into out: one pread, two where the ring wraps. */
static int rows_read(int fd, off_t base, size_t row_cnt, size_t nds,
                     size_t first, size_t n, double *out) {
  size_t row = nds * sizeof(double);
  while (n) {
    size_t k = row_cnt - first < n ? row_cnt - first : n;
    if (pread(fd, out, k * row, base + (off_t)(first * row)) !=
        (ssize_t)(k * row))
      return 1;
    out += k * nds;
    n -= k;
    first = 0;
  }
  return 0;
}

/* The rows of RRA c for the aligned window in *f, as rrd_fetch_fn steps
 * through them: row i of the RRA (0 the oldest) is ring slot
 * (cur_row + 1 + i) mod row_cnt and ends at rra_end - (row_cnt-1-i)*step. */
static int window_read(int fd, const struct head *h, long c,
                       struct bal_rrd_rows *f) {
  rra_def_t d;
  rra_ptr_t p;
  rra_at(h, (size_t)c, &d);
  memcpy(&p, h->ptr + (size_t)c * sizeof(p), sizeof(p));
  off_t base = (off_t)h->len;
  for (long i = 0; i < c; i++) {
    rra_def_t o;
    rra_at(h, (size_t)i, &o);
    base += (off_t)(o.row_cnt * h->nds * sizeof(double));
  }
  time_t step = (time_t)f->step, rows = (f->end - f->start) / step;
  time_t rra_end = h->last - h->last % step;
  time_t rra_start = rra_end - step * (time_t)(d.row_cnt - 1);
  time_t first = (f->start + step - rra_start) / step;
  time_t last = (time_t)d.row_cnt - (rra_end - f->end) / step;
  if (rows < 0 || last - first != rows || (size_t)rows > SIZE_MAX / 8 / h->nds)
    return 1;
  f->data = malloc(((size_t)rows + 1) * h->nds * sizeof(double));
  if (!f->data)
    return -ENOMEM;
  for (size_t i = 0; i < (size_t)rows * h->nds; i++)
    f->data[i] = NAN;
  time_t lo = first > 0 ? first : 0;
  time_t hi = last < (time_t)d.row_cnt ? last : (time_t)d.row_cnt;
  if (lo >= hi)
    return 0;
  return rows_read(fd, base, d.row_cnt, h->nds,
                   (size_t)((time_t)p.cur_row + 1 + lo) % d.row_cnt,
                   (size_t)(hi - lo), f->data + (size_t)(lo - first) * h->nds);
}

/* The data sources' names as one block: pointers, then the strings. */
static int names_copy(const struct head *h, struct bal_rrd_rows *f) {
  size_t each = sizeof(((ds_def_t *)0)->ds_nam);
  char **n = malloc(h->nds * (sizeof(char *) + each));
  if (!n)
    return -ENOMEM;
  char *s = (char *)(n + h->nds);
  for (size_t i = 0; i < h->nds; i++, s += each) {
    ds_def_t d;
    memcpy(&d, h->ds + i * sizeof(d), sizeof(d));
    memcpy(s, d.ds_nam, each);
    s[each - 1] = '\0';
    n[i] = s;
  }
  f->names = n;
  return 0;
}

int bal_rrd_fetch(const char *path, time_t start, time_t end,
                  unsigned long step, struct bal_rrd_rows *ret, char *why,
                  size_t why_len) {
  *ret = (struct bal_rrd_rows){0};
  if (start <= 0 || end < start || step > SPAN_MAX)
    return 1;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return 1;
  unsigned char *buf = NULL;
  struct head h;
  struct stat st;
  struct bal_rrd_rows f = {.start = start, .end = end};
  struct flock lk = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
  long c = -1;
  /* librrd's lock: a writer holding it (rrd_update) is not read half
   * done; when it is held, librrd says so. */
  int r =
      fcntl(fd, F_SETLK, &lk) < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)
          ? 1
          : head_read(fd, &buf, &h);
  if (r == 0)
    r = head_check(&h, st.st_size, why, why_len);
  if (r == 0)
    r = rra_choose(&h, start, end, step, &c);
  if (r == 0 && c < 0)
    r = 1; /* librrd's "does not contain an RRA matching" */
  if (r == 0) {
    rra_def_t d;
    rra_at(&h, (size_t)c, &d);
    f.step = d.pdp_cnt * h.pdp_step;
    f.start -= f.start % (time_t)f.step;
    f.end += (time_t)f.step - f.end % (time_t)f.step;
    f.nds = h.nds;
    f.last = h.last;
    r = window_read(fd, &h, c, &f);
  }
  if (r == 0)
    r = names_copy(&h, &f);
  close(fd);
  free(buf);
  if (r != 0) {
    bal_rrd_rows_free(&f);
    return r;
  }
  *ret = f;
  return 0;
}

void bal_rrd_rows_free(struct bal_rrd_rows *f) {
  if (!f)
    return;
  if (f->librrd) {
    for (unsigned long j = 0; f->names && j < f->nds; j++)
      rrd_freemem(f->names[j]);
    rrd_freemem(f->names);
    rrd_freemem(f->data);
  } else {
    free(f->names);
    free(f->data);
  }
  *f = (struct bal_rrd_rows){0};
}
