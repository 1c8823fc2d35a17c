/* Unit tests for avail/: recorded event sequences with figures worked out
 * by hand (in the comments), the journal file (restart, duplicates, a torn
 * line, a bad line) and reconciliation with crm_mon's XML. */
#include "config.h"

#include "avail.h"
#include "check_run.h"

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DATA TEST_SRCDIR "/t/data/avail/"
/* All sequences start here; offsets are in seconds. */
#define T0 INT64_C(1700000000000)
#define AT(s) (T0 + (int64_t)(s)*1000)

static char tmpdir[] = "/tmp/check_avail.XXXXXX";
static char jpath[sizeof(tmpdir) + 16];

static void setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(jpath, sizeof(jpath), "%s/journal", tmpdir);
}

static void teardown(void) {
  unlink(jpath);
  rmdir(tmpdir);
  strcpy(tmpdir, "/tmp/check_avail.XXXXXX");
}

static av_event_t ev(int64_t t, av_action_t a, const char *name,
                     const char *node) {
  av_event_t e = {.t_ms = t, .action = a};
  snprintf(e.name, sizeof(e.name), "%s", name);
  snprintf(e.node, sizeof(e.node), "%s", node ? node : "");
  return e;
}

/* The reference sequence. Node n1: up 0-100, lost at 100, back at 130, lost
 * at 400, back at 420. Resource db: starts on n1 at 5, fails with n1 at 100,
 * restarted on n2 at 108; a planned move: stopped on n2 at 200, started
 * there again at 203; its monitor fails at 500, the recovery stops it at 501
 * and starts it at 504. n2 joins at 0 and stays. */
static const struct {
  int64_t s;
  av_action_t a;
  const char *name, *node;
} seq[] = {
    {0, AV_MEMBER, "n1", NULL},  {0, AV_MEMBER, "n2", NULL},
    {5, AV_START, "db", "n1"},   {100, AV_LOST, "n1", NULL},
    {108, AV_START, "db", "n2"}, {130, AV_MEMBER, "n1", NULL},
    {200, AV_STOP, "db", "n2"},  {203, AV_START, "db", "n2"},
    {400, AV_LOST, "n1", NULL},  {420, AV_MEMBER, "n1", NULL},
    {500, AV_FAIL, "db", "n2"},  {501, AV_STOP, "db", "n2"},
    {504, AV_START, "db", "n2"},
};
#define NSEQ (sizeof(seq) / sizeof(seq[0]))

static av_event_t seq_ev(size_t i) {
  return ev(AT(seq[i].s), seq[i].a, seq[i].name, seq[i].node);
}

/* Checks the figures of the reference sequence at now = 1000 s over the
 * whole history.
 * n1: up 0-100 (100 s) + 130-400 (270 s) + 420-1000 (580 s) = 950 s;
 *     repair 100-130 (30 s) + 400-420 (20 s) = 50 s; 2 failures;
 *     MTTF 950/2 = 475 s, MTTR 50/2 = 25 s, availability 950/1000 = 0.95.
 * db: up 5-100 (95) + 108-200 (92) + 203-500 (297) + 504-1000 (496) = 980 s;
 *     repair 100-108 (8 s) + 500-504 (4 s, the recovery stop at 501 does not
 *     end it) = 12 s; the planned stop 200-203 counts as neither; 2
 *     failures; MTTF 490 s, MTTR 6 s, availability 980/992.
 * n2: up 0-1000, no failure: MTTF and MTTR undefined, availability 1. */
static void check_reference(const av_event_t *events, size_t n) {
  av_report_t *r;
  ck_assert_int_eq(av_report_new(events, n, INT64_MIN, AT(1000), &r), 0);
  ck_assert_uint_eq(av_report_count(r), 3);
  ck_assert_str_eq(av_report_get(r, 0)->name, "n1"); /* nodes first */
  ck_assert_str_eq(av_report_get(r, 2)->name, "db");
  const av_figures_t *f = av_report_find(r, AV_NODE, "n1");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->state, AV_ONLINE);
  ck_assert_int_eq(f->since_ms, AT(420));
  ck_assert_uint_eq(f->failures, 2);
  ck_assert_int_eq(f->up_ms, 950000);
  ck_assert_int_eq(f->repair_ms, 50000);
  ck_assert_double_eq(f->mttf_s, 475.0);
  ck_assert_double_eq(f->mttr_s, 25.0);
  ck_assert_double_eq_tol(f->availability, 0.95, 1e-12);
  f = av_report_find(r, AV_RESOURCE, "db");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->state, AV_STARTED);
  ck_assert_uint_eq(f->failures, 2);
  ck_assert_int_eq(f->up_ms, 980000);
  ck_assert_int_eq(f->repair_ms, 12000);
  ck_assert_double_eq(f->mttf_s, 490.0);
  ck_assert_double_eq(f->mttr_s, 6.0);
  ck_assert_double_eq_tol(f->availability, 980.0 / 992.0, 1e-12);
  f = av_report_find(r, AV_NODE, "n2");
  ck_assert_uint_eq(f->failures, 0);
  ck_assert(isnan(f->mttf_s) && isnan(f->mttr_s));
  ck_assert_double_eq(f->availability, 1.0);
  ck_assert_ptr_null(av_report_find(r, AV_NODE, "db"));
  av_report_free(r);
}

START_TEST(fail_repair_cycle) {
  av_event_t events[NSEQ];
  for (size_t i = 0; i < NSEQ; i++)
    events[i] = seq_ev(i);
  check_reference(events, NSEQ);
}
END_TEST

/* The same sequence through the journal, the collector restarted after the
 * 6th event (the file re-read), every alert sent twice and n1's losses also
 * reported a second later by another survivor: the same figures. */
START_TEST(restart_and_duplicates) {
  av_journal_t *j;
  av_load_t ld;
  pm_error_t err;
  ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
  ck_assert_uint_eq(ld.events, 0);
  for (size_t i = 0; i < NSEQ; i++) {
    if (i == 6) {
      av_journal_free(j);
      ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
      ck_assert_uint_eq(ld.events, 6);
      ck_assert_uint_eq(ld.skipped, 0);
    }
    av_event_t e = seq_ev(i);
    /* The recovery stop at 501 s (i 11) changes nothing: db failed at 500. */
    ck_assert_int_eq(av_journal_add(j, &e), i == 11 ? 0 : 1);
    ck_assert_int_eq(av_journal_add(j, &e), 0); /* the same alert again */
    if (e.action == AV_LOST) {
      e.t_ms += 1000;
      ck_assert_int_eq(av_journal_add(j, &e), 0);
    }
  }
  size_t n;
  const av_event_t *events = av_journal_events(j, &n);
  ck_assert_uint_eq(n, NSEQ - 1);
  check_reference(events, n);
  av_journal_free(j);
  /* And once more from the file alone. */
  ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
  ck_assert_uint_eq(ld.events, NSEQ - 1);
  events = av_journal_events(j, &n);
  check_reference(events, n);
  av_journal_free(j);
}
END_TEST

/* A late copy of an alert already recorded (same time, after later events)
 * is recognised; a start on the node it already runs on changes nothing. */
START_TEST(late_duplicate) {
  av_journal_t *j;
  ck_assert_int_eq(av_journal_open(jpath, &j, NULL, NULL), 0);
  av_event_t a = ev(AT(0), AV_MEMBER, "n1", NULL),
             b = ev(AT(10), AV_LOST, "n1", NULL),
             c = ev(AT(20), AV_MEMBER, "n1", NULL);
  ck_assert_int_eq(av_journal_add(j, &a), 1);
  ck_assert_int_eq(av_journal_add(j, &b), 1);
  ck_assert_int_eq(av_journal_add(j, &c), 1);
  ck_assert_int_eq(av_journal_add(j, &b), 0);
  av_event_t s1 = ev(AT(1), AV_START, "db:0", "n1"),
             s2 = ev(AT(2), AV_START, "db", "n1");
  ck_assert_int_eq(av_journal_add(j, &s1), 1);
  ck_assert_int_eq(av_journal_add(j, &s2), 0);
  size_t n;
  const av_event_t *e = av_journal_events(j, &n);
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(e[3].name, "db"); /* clone suffix dropped */
  av_journal_free(j);
}
END_TEST

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
    ck_assert_uint_eq(fwrite(buf, 1, k, out), k);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* torn.journal: the reference node events up to the loss at 400 s, then
 * "1700000420000 node memb" without a newline (a crash mid-append). The torn
 * line is reported (line 6), ignored and cut off; n1 is offline since 400 s.
 * At 450 s: up 100 + 270 = 370 s, repair 30 + 50 (400-450, still open) =
 * 80 s, 2 failures, MTTF 185 s, MTTR 40 s, availability 370/450. The next
 * append starts a fresh line and a reopen reads 5 events, nothing skipped. */
START_TEST(torn_line) {
  copy_file(DATA "torn.journal", jpath);
  av_journal_t *j;
  av_load_t ld;
  pm_error_t err;
  ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
  ck_assert(ld.torn);
  ck_assert_uint_eq(ld.events, 4);
  ck_assert_uint_eq(ld.skipped, 1);
  ck_assert_uint_eq(ld.first.line, 6);
  ck_assert_str_eq(ld.first.text, "1700000420000 node memb");
  ck_assert_str_eq(ld.first.file, jpath);
  size_t n;
  const av_event_t *e = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(e, n, INT64_MIN, AT(450), &r), 0);
  const av_figures_t *f = av_report_find(r, AV_NODE, "n1");
  ck_assert_int_eq(f->state, AV_OFFLINE);
  ck_assert_uint_eq(f->failures, 2);
  ck_assert_int_eq(f->up_ms, 370000);
  ck_assert_int_eq(f->repair_ms, 80000);
  ck_assert_double_eq(f->mttf_s, 185.0);
  ck_assert_double_eq(f->mttr_s, 40.0);
  ck_assert_double_eq_tol(f->availability, 370.0 / 450.0, 1e-12);
  av_report_free(r);
  av_event_t back = ev(AT(420), AV_MEMBER, "n1", NULL);
  ck_assert_int_eq(av_journal_add(j, &back), 1);
  av_journal_free(j);
  ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
  ck_assert(!ld.torn);
  ck_assert_uint_eq(ld.events, 5);
  ck_assert_uint_eq(ld.skipped, 0);
  av_journal_free(j);
}
END_TEST

/* bad-line.journal: line 3 has an unknown action. It is skipped and
 * reported with its file, line and text; the events around it count. */
START_TEST(bad_line) {
  copy_file(DATA "bad-line.journal", jpath);
  av_journal_t *j;
  av_load_t ld;
  pm_error_t err;
  ck_assert_int_eq(av_journal_open(jpath, &j, &ld, &err), 0);
  ck_assert(!ld.torn);
  ck_assert_uint_eq(ld.events, 2);
  ck_assert_uint_eq(ld.skipped, 1);
  ck_assert_uint_eq(ld.first.line, 3);
  ck_assert_str_eq(ld.first.text, "1700000100000 node vanished n1");
  ck_assert_str_eq(ld.first.msg, "unknown action");
  av_journal_free(j);
}
END_TEST

/* Windows that cut intervals, on the reference sequence at now = 1000 s.
 * [110, 1000]: n1's first repair is cut to 110-130 (20 s), its first
 * failure (100) is outside; up 270 + 580 = 850 s; 1 failure (400) with its
 * repair 20 s: repair 40 s, MTTF 850 s, MTTR 40 s, availability 850/890.
 * db: up 110-200 (90) + 297 + 496 = 883 s, repair 4 s, 1 failure:
 * availability 883/887.
 * [410, 1000]: n1 up 580 s, repair 410-420 (10 s), no failure inside:
 * MTTF and MTTR undefined, availability 580/590.
 * [1000 - 24 h, 1000]: the whole history, as check_reference. */
START_TEST(windows) {
  av_event_t events[NSEQ];
  for (size_t i = 0; i < NSEQ; i++)
    events[i] = seq_ev(i);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(events, NSEQ, AT(110), AT(1000), &r), 0);
  const av_figures_t *f = av_report_find(r, AV_NODE, "n1");
  ck_assert_uint_eq(f->failures, 1);
  ck_assert_int_eq(f->up_ms, 850000);
  ck_assert_int_eq(f->repair_ms, 40000);
  ck_assert_double_eq(f->mttf_s, 850.0);
  ck_assert_double_eq(f->mttr_s, 40.0);
  ck_assert_double_eq_tol(f->availability, 850.0 / 890.0, 1e-12);
  f = av_report_find(r, AV_RESOURCE, "db");
  ck_assert_uint_eq(f->failures, 1);
  ck_assert_int_eq(f->up_ms, 883000);
  ck_assert_int_eq(f->repair_ms, 4000);
  ck_assert_double_eq_tol(f->availability, 883.0 / 887.0, 1e-12);
  av_report_free(r);

  ck_assert_int_eq(av_report_new(events, NSEQ, AT(410), AT(1000), &r), 0);
  f = av_report_find(r, AV_NODE, "n1");
  ck_assert_uint_eq(f->failures, 0);
  ck_assert_int_eq(f->up_ms, 580000);
  ck_assert_int_eq(f->repair_ms, 10000);
  ck_assert(isnan(f->mttf_s) && isnan(f->mttr_s));
  ck_assert_double_eq_tol(f->availability, 580.0 / 590.0, 1e-12);
  av_report_free(r);

  ck_assert_int_eq(
      av_report_new(events, NSEQ, AT(1000) - AV_DAY_MS, AT(1000), &r), 0);
  f = av_report_find(r, AV_NODE, "n1");
  ck_assert_int_eq(f->up_ms, 950000);
  ck_assert_int_eq(f->repair_ms, 50000);
  av_report_free(r);
  /* A window ending before some events: they are not seen. At 300 s, db has
   * been up 95 + 92 + 97 = 284 s, repaired 8 s once. */
  ck_assert_int_eq(av_report_new(events, NSEQ, INT64_MIN, AT(300), &r), 0);
  f = av_report_find(r, AV_RESOURCE, "db");
  ck_assert_uint_eq(f->failures, 1);
  ck_assert_int_eq(f->up_ms, 284000);
  ck_assert_int_eq(f->repair_ms, 8000);
  av_report_free(r);
  ck_assert_int_eq(av_report_new(events, NSEQ, AT(2), AT(1), &r), -EINVAL);
}
END_TEST

/* A clone with instances on n1 and n2: losing n1 leaves it running on n2,
 * no failure; a node first seen lost is not counted until it joins. At
 * 100 s: web up 0-100 (100 s), no failure. n3 lost at 0 (never seen up),
 * member at 40: up 60 s, no repair, no failure. A report takes events in
 * time order: n1's member at 30, recorded after its loss at 50, comes
 * before it and changes nothing: n1 up 0-50, repair 50-100, 1 failure. */
START_TEST(clone_and_unknown) {
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(0), AV_LOST, "n3", NULL),   ev(AT(0), AV_START, "web", "n1"),
      ev(AT(0), AV_START, "web", "n2"), ev(AT(40), AV_MEMBER, "n3", NULL),
      ev(AT(50), AV_LOST, "n1", NULL),  ev(AT(30), AV_MEMBER, "n1", NULL),
  };
  av_report_t *r;
  ck_assert_int_eq(
      av_report_new(e, sizeof(e) / sizeof(e[0]), INT64_MIN, AT(100), &r), 0);
  const av_figures_t *f = av_report_find(r, AV_RESOURCE, "web");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(f->state, AV_STARTED);
  ck_assert_uint_eq(f->failures, 0);
  ck_assert_int_eq(f->up_ms, 100000);
  f = av_report_find(r, AV_NODE, "n3");
  ck_assert_uint_eq(f->failures, 0);
  ck_assert_int_eq(f->up_ms, 60000);
  ck_assert_int_eq(f->repair_ms, 0);
  f = av_report_find(r, AV_NODE, "n1");
  ck_assert_uint_eq(f->failures, 1);
  ck_assert_int_eq(f->up_ms, 50000);
  ck_assert_int_eq(f->repair_ms, 50000);
  ck_assert_double_eq(f->availability, 0.5);
  av_report_free(r);
}
END_TEST

/* Checks one row's failures, up and repair time. */
static void expect(const av_report_t *r, av_kind_t kind, const char *name,
                   unsigned failures, int64_t up_ms, int64_t repair_ms) {
  const av_figures_t *f = av_report_find(r, kind, name);
  ck_assert_msg(f != NULL, "no row for %s", name);
  ck_assert_uint_eq(f->failures, failures);
  ck_assert_int_eq(f->up_ms, up_ms);
  ck_assert_int_eq(f->repair_ms, repair_ms);
}

/* A journal at jpath holding e[0..n), each recorded. */
static av_journal_t *journal_of(const av_event_t *e, size_t n) {
  av_journal_t *j;
  ck_assert_int_eq(av_journal_open(jpath, &j, NULL, NULL), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(av_journal_add(j, &e[i]), 1);
  return j;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char *b = malloc(1 << 20);
  *len = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

/* The balancer's crm_mon fixture on an empty journal: n1-n4 members, n5
 * (offline) lost but not counted; resources a b c u v x y z g1 g2 started
 * where they run, s and w stopped, the clone cp started on n1, n2 and n3:
 * 4 + 1 + 12 + 3 = 20 events. A second reconcile finds nothing new. */
START_TEST(reconcile_fresh) {
  size_t len;
  char *xml = slurp(TEST_SRCDIR "/t/data/balancer/crm_mon.xml", &len);
  av_journal_t *j;
  pm_error_t err;
  ck_assert_int_eq(av_journal_open(jpath, &j, NULL, &err), 0);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "crm_mon", AT(0), &err), 20);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "crm_mon", AT(9), &err), 0);
  size_t n;
  const av_event_t *e = av_journal_events(j, &n);
  ck_assert(e[0].reconciled);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(e, n, INT64_MIN, AT(60), &r), 0);
  const av_figures_t *f = av_report_find(r, AV_NODE, "n5");
  ck_assert_int_eq(f->state, AV_OFFLINE);
  ck_assert_int_eq(f->repair_ms, 0);
  ck_assert(isnan(f->availability));
  f = av_report_find(r, AV_RESOURCE, "cp");
  ck_assert_int_eq(f->state, AV_STARTED);
  ck_assert_int_eq(f->up_ms, 60000);
  ck_assert_int_eq(av_report_find(r, AV_RESOURCE, "s")->state, AV_STOPPED);
  /* n3 is in maintenance, n4 in standby: up all the same. */
  ck_assert_int_eq(av_report_find(r, AV_NODE, "n3")->state, AV_MAINTENANCE);
  ck_assert_int_eq(av_report_find(r, AV_NODE, "n4")->state, AV_STANDBY);
  expect(r, AV_NODE, "n4", 0, 60000, 0);
  av_report_free(r);
  av_journal_free(j);
  free(xml);
}
END_TEST

/* The collector was down while n1 died: the journal has n1 and n2 members
 * at 0, db started on n1 at 5 and web on n1 at 6; crm_mon at 50 s shows n1
 * offline, db on n2, web stopped and failed. Reconciling records n1 lost
 * and db started on n2 (2 events; web failed with n1 already). At 100 s:
 * n1 up 50 s, repair 50 s, 1 failure; db up 45 + 50 = 95 s, repair 0 s (the
 * restart is only noticed at 50), 1 failure; web up 44 s, repair 50 s,
 * failed. */
START_TEST(reconcile_missed) {
  pm_error_t err;
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(5), AV_START, "db", "n1"), ev(AT(6), AV_START, "web", "n1")};
  av_journal_t *j = journal_of(e, 4);
  size_t len;
  char *xml = slurp(DATA "crm_mon-n1-lost.xml", &len);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(50), &err), 2);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(60), &err), 0);
  size_t n;
  const av_event_t *ev2 = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(ev2, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_NODE, "n1", 1, 50000, 50000);
  expect(r, AV_RESOURCE, "db", 1, 95000, 0);
  expect(r, AV_RESOURCE, "web", 1, 44000, 50000);
  ck_assert_int_eq(av_report_find(r, AV_RESOURCE, "web")->state, AV_FAILED);
  av_report_free(r);
  /* Not XML: a clear error, nothing recorded. */
  ck_assert_int_eq(
      av_journal_reconcile(j, "<nope", 5, NULL, 0, "bad.xml", AT(70), &err),
      -EBADMSG);
  ck_assert_str_eq(err.file, "bad.xml");
  av_journal_events(j, &n);
  ck_assert_uint_eq(n, 6);
  av_journal_free(j);
  free(xml);
}
END_TEST

/* The CIB dates what crm_mon shows changed. The journal: n1 and n2 members
 * at 0, db started on n1 at 5, web on n2 at 6, n1 lost at 40 (its alert)
 * so db failed at 40. At 60, crm_mon shows db on n2 and web stopped; the
 * CIB's operations say db's start on n2 ran from 47 s (whole seconds: from
 * 47.5 on average) for 10 ms, and web's stop from 55 s for 10 ms (its probe
 * at 1 s, rc 7, is no failure). 2 events, at 47.510 and 55.510. At 100 s:
 * db up 5-40 (35 s) + 47.510-100 (52.490 s) = 87.490 s, repair 40-47.510 =
 * 7.510 s, 1 failure; web up 6-55.510 = 49.510 s, stopped since, no
 * failure. Without the CIB both
 * would be dated 60. */
START_TEST(reconcile_dated) {
  pm_error_t err;
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(5), AV_START, "db", "n1"), ev(AT(6), AV_START, "web", "n2"),
      ev(AT(40), AV_LOST, "n1", NULL)};
  av_journal_t *j = journal_of(e, sizeof(e) / sizeof(e[0]));
  size_t len, clen;
  char *xml = slurp(DATA "crm_mon-moved.xml", &len),
       *cib = slurp(DATA "cib-moved.xml", &clen);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, cib, clen, "x", AT(60), &err), 2);
  size_t n;
  const av_event_t *got = av_journal_events(j, &n);
  ck_assert_uint_eq(n, 7);
  ck_assert_int_eq(got[5].t_ms, AT(47) + 510);
  ck_assert_int_eq(got[5].action, AV_START);
  ck_assert_int_eq(got[6].t_ms, AT(55) + 510);
  ck_assert_int_eq(got[6].action, AV_STOP);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_RESOURCE, "db", 1, 87490, 7510);
  expect(r, AV_RESOURCE, "web", 0, 49510, 0);
  ck_assert_int_eq(av_report_find(r, AV_RESOURCE, "web")->state, AV_STOPPED);
  av_report_free(r);
  av_journal_free(j);
  free(xml);
  free(cib);
}
END_TEST

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

/* The spool dates a loss the balancer missed (its own node died). The
 * journal: n1 and n2 members at 0, db started on n1 at 5, web on n2 at 6.
 * The spool (both survivors' agents): n1 lost at 40, twice; n2 lost at 3
 * (stale: not later than 6, the journal's latest); a bad line. Taken: 1
 * event, the spool gone. Then reconcile_dated's crm_mon and CIB at 60: db
 * started on n2 at 47.510, web stopped at 55.510 (2 events), and at 100 the
 * same figures: db up 87.490 s, repair 7.510 s, 1 failure; n1 up 40 s,
 * repair 60 s. Without the spool, crm_mon shows the loss at 60, db's
 * restart cannot be earlier: dated 60, repair 0, up 95 s, n1 repair 40 s.
 * A crash left spool.taking (n1 member at 70) and a new spool holds n1
 * lost at 80: both taken, in that order: n1 up 40 + 10 = 50 s, repair 30 +
 * 20 = 50 s, 2 failures. A spool of AV_SPOOL_MAX bytes takes no more. */
START_TEST(spool_dates_missed_loss) {
  pm_error_t err;
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(5), AV_START, "db", "n1"), ev(AT(6), AV_START, "web", "n2")};
  size_t len, clen;
  char *xml = slurp(DATA "crm_mon-moved.xml", &len),
       *cib = slurp(DATA "cib-moved.xml", &clen);
  char spool[sizeof(jpath) + 16], taking[sizeof(spool) + 8];
  snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
  snprintf(taking, sizeof(taking), "%s.taking", spool);
  for (int with = 0; with < 2; with++) {
    av_journal_t *j = journal_of(e, sizeof(e) / sizeof(e[0]));
    av_event_t lost = ev(AT(40), AV_LOST, "n1", NULL),
               stale = ev(AT(3), AV_LOST, "n2", NULL);
    av_load_t ld;
    if (with) {
      ck_assert_int_eq(av_spool_append(spool, &lost), 0);
      ck_assert_int_eq(av_spool_append(spool, &stale), 0);
      ck_assert_int_eq(av_spool_append(spool, &lost), 0);
      FILE *f = fopen(spool, "a");
      fputs("garbage\n", f);
      fclose(f);
      ck_assert_int_eq(av_journal_take_spool(j, spool, &ld, &err), 1);
      ck_assert_uint_eq(ld.skipped, 1);
      ck_assert_int_eq(access(spool, F_OK), -1);
      ck_assert_int_eq(access(taking, F_OK), -1);
    }
    /* No spool: nothing, no error. */
    ck_assert_int_eq(av_journal_take_spool(j, spool, NULL, &err), 0);
    ck_assert_int_eq(
        av_journal_reconcile(j, xml, len, cib, clen, "x", AT(60), &err),
        with ? 2 : 3);
    size_t n;
    const av_event_t *got = av_journal_events(j, &n);
    av_report_t *r;
    ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
    if (with) {
      expect(r, AV_RESOURCE, "db", 1, 87490, 7510);
      expect(r, AV_NODE, "n1", 1, 40000, 60000);
    } else {
      expect(r, AV_RESOURCE, "db", 1, 95000, 0);
      expect(r, AV_NODE, "n1", 1, 60000, 40000);
    }
    av_report_free(r);
    if (with) {
      char line[64];
      snprintf(line, sizeof(line), "%" PRId64 " node member n1\n", AT(70));
      write_text(taking, line);
      av_event_t again = ev(AT(80), AV_LOST, "n1", NULL);
      ck_assert_int_eq(av_spool_append(spool, &again), 0);
      ck_assert_int_eq(av_journal_take_spool(j, spool, NULL, &err), 1);
      ck_assert_int_eq(av_journal_take_spool(j, spool, NULL, &err), 1);
      ck_assert_int_eq(access(taking, F_OK), -1);
      got = av_journal_events(j, &n);
      ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
      expect(r, AV_NODE, "n1", 2, 50000, 50000);
      av_report_free(r);
    }
    av_journal_free(j);
    unlink(jpath);
  }
  /* A spool no one takes stops at AV_SPOOL_MAX bytes. */
  av_event_t one = ev(AT(90), AV_MEMBER, "n1", NULL);
  ck_assert_int_eq(av_spool_append(spool, &one), 0);
  ck_assert_int_eq(truncate(spool, AV_SPOOL_MAX), 0);
  ck_assert_int_eq(av_spool_append(spool, &one), -EFBIG);
  unlink(spool);
  free(xml);
  free(cib);
}
END_TEST

/* An event that changes nothing does not move the journal's time on (a
 * reconcile offers every node at the pass time, before the resource
 * changes the CIB dates earlier). n1 member at 0, db on n1 at 5; n1 member
 * again at 50 changes nothing (0): a spooled loss of n1 at 45 is still
 * news (1), and db fails with it at 45: up 40 s, repair 55 s at 100. */
START_TEST(no_change_keeps_time) {
  av_event_t e[] = {ev(AT(0), AV_MEMBER, "n1", NULL),
                    ev(AT(5), AV_START, "db", "n1")};
  av_journal_t *j = journal_of(e, 2);
  av_event_t again = ev(AT(50), AV_MEMBER, "n1", NULL),
             lost = ev(AT(45), AV_LOST, "n1", NULL);
  ck_assert_int_eq(av_journal_add(j, &again), 0);
  char spool[sizeof(jpath) + 16];
  snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
  ck_assert_int_eq(av_spool_append(spool, &lost), 0);
  pm_error_t err;
  ck_assert_int_eq(av_journal_take_spool(j, spool, NULL, &err), 1);
  size_t n;
  const av_event_t *got = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_RESOURCE, "db", 1, 40000, 55000);
  av_report_free(r);
  av_journal_free(j);
}
END_TEST

/* Node losses in the reference sequence at 1000 s: n1 lost at 100 with db
 * on it (db's last instance: failed), back at 130: outage 30 s; db started
 * on n2 at 108: recovery 8 s, 1 resource failed. n1 lost again at 400,
 * running nothing (db is on n2): outage 20 s, recovery 0 s, none failed.
 * Fencing: n1 fenced at 103 marks the first loss (recorded: 1); a second
 * fenced alert at 104 changes nothing (0). n2 fenced at 600 while up, db
 * on it: that is n2's loss, fenced; at 1000 n2 is still down (outage -1)
 * and db runs nowhere (recovery -1), n2 has 1 failure, up 600 s, repair
 * 400 s. A window from 200 s keeps the losses at 400 and 600 only. */
START_TEST(node_losses) {
  av_journal_t *j;
  ck_assert_int_eq(av_journal_open(jpath, &j, NULL, NULL), 0);
  for (size_t i = 0; i < NSEQ; i++) {
    av_event_t e = seq_ev(i);
    ck_assert_int_ge(av_journal_add(j, &e), 0);
    if (seq[i].s == 100) {
      av_event_t f = ev(AT(103), AV_FENCED, "n1", NULL),
                 g = ev(AT(104), AV_FENCED, "n1", NULL);
      ck_assert_int_eq(av_journal_add(j, &f), 1);
      ck_assert_int_eq(av_journal_add(j, &g), 0);
    }
  }
  av_event_t f = ev(AT(600), AV_FENCED, "n2", NULL);
  ck_assert_int_eq(av_journal_add(j, &f), 1);
  size_t n;
  const av_event_t *got = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(1000), &r), 0);
  const av_loss_t *l;
  ck_assert_uint_eq(av_report_losses(r, &l), 3);
  ck_assert_str_eq(l[0].node, "n1");
  ck_assert_int_eq(l[0].t_ms, AT(100));
  ck_assert(l[0].fenced);
  ck_assert_int_eq(l[0].outage_ms, 30000);
  ck_assert_int_eq(l[0].recovery_ms, 8000);
  ck_assert_uint_eq(l[0].failed, 1);
  ck_assert_int_eq(l[1].t_ms, AT(400));
  ck_assert(!l[1].fenced);
  ck_assert_int_eq(l[1].outage_ms, 20000);
  ck_assert_int_eq(l[1].recovery_ms, 0);
  ck_assert_uint_eq(l[1].failed, 0);
  ck_assert_str_eq(l[2].node, "n2");
  ck_assert_int_eq(l[2].t_ms, AT(600));
  ck_assert(l[2].fenced);
  ck_assert_int_eq(l[2].outage_ms, -1);
  ck_assert_int_eq(l[2].recovery_ms, -1);
  ck_assert_uint_eq(l[2].failed, 1);
  expect(r, AV_NODE, "n2", 1, 600000, 400000);
  av_report_free(r);
  ck_assert_int_eq(av_report_new(got, n, AT(200), AT(1000), &r), 0);
  ck_assert_uint_eq(av_report_losses(r, &l), 2);
  ck_assert_int_eq(l[0].t_ms, AT(400));
  av_report_free(r);
  av_journal_free(j);
}
END_TEST

/* An alert stands against crm_mon for AV_ALERT_LEAD_MS (30 s): n1's
 * member alert at 0, crm_mon showing it offline at 10 s (the DC has not
 * recorded the join yet): n1 is left online; n2 joins, db starts on n2 and
 * web is stopped (3 events). At 31 s crm_mon wins: n1 lost (1 event). */
START_TEST(alert_lead) {
  av_event_t e[] = {ev(AT(0), AV_MEMBER, "n1", NULL)};
  av_journal_t *j = journal_of(e, 1);
  size_t len;
  pm_error_t err;
  char *xml = slurp(DATA "crm_mon-n1-lost.xml", &len);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(10), &err), 3);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(31), &err), 1);
  size_t n;
  const av_event_t *got = av_journal_events(j, &n);
  ck_assert_int_eq(got[n - 1].action, AV_LOST);
  ck_assert_int_eq(got[n - 1].t_ms, AT(31));
  av_journal_free(j);
  free(xml);
}
END_TEST

/* Right after an alert lost a node, crm_mon may still list what ran there
 * (the DC has not recorded the loss): that is not running. n1 and n2
 * members at 0, db on n2 at 5, n2 lost by an alert at 50 (db failed). At
 * 55, crm_mon (crm_mon-moved.xml) still shows db on n2 and n1 offline: n1
 * lost and web (new) stopped (2 events), db not started on n2. At 100 s: db up
 * 45 s, repair 50 s, failed. At 81 s (31 s after the alert) crm_mon wins: n2
 * online, db started (2 events). */
START_TEST(alert_lead_instances) {
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(5), AV_START, "db", "n2"), ev(AT(50), AV_LOST, "n2", NULL)};
  av_journal_t *j = journal_of(e, 4);
  size_t len, n;
  pm_error_t err;
  char *xml = slurp(DATA "crm_mon-moved.xml", &len);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(55), &err), 2);
  const av_event_t *got = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_RESOURCE, "db", 1, 45000, 50000);
  ck_assert_int_eq(av_report_find(r, AV_RESOURCE, "db")->state, AV_FAILED);
  av_report_free(r);
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, NULL, 0, "x", AT(81), &err), 2);
  av_journal_free(j);
  free(xml);
}
END_TEST

/* The report takes events in time order: a restart the CIB dates at 47.510
 * recorded after n1's member alert at 48 (reconcile_dated's journal, then
 * member n1 at 48, then the reconcile at 60) still ends db's repair at
 * 47.510 (7.510 s), not at 48. */
START_TEST(report_time_order) {
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL), ev(AT(0), AV_MEMBER, "n2", NULL),
      ev(AT(5), AV_START, "db", "n1"),  ev(AT(6), AV_START, "web", "n2"),
      ev(AT(40), AV_LOST, "n1", NULL),  ev(AT(48), AV_MEMBER, "n1", NULL)};
  av_journal_t *j = journal_of(e, sizeof(e) / sizeof(e[0]));
  size_t len, clen, n;
  pm_error_t err;
  char *xml = slurp(DATA "crm_mon-moved.xml", &len),
       *cib = slurp(DATA "cib-moved.xml", &clen);
  /* n1's alert stands (12 s old): db on n2 and web stopped are dated. */
  ck_assert_int_eq(
      av_journal_reconcile(j, xml, len, cib, clen, "x", AT(60), &err), 2);
  const av_event_t *got = av_journal_events(j, &n);
  ck_assert_int_eq(got[6].t_ms, AT(47) + 510);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_RESOURCE, "db", 1, 87490, 7510);
  expect(r, AV_NODE, "n1", 1, 92000, 8000);
  av_report_free(r);
  av_journal_free(j);
  free(xml);
  free(cib);
}
END_TEST

/* Standby and maintenance are up; a loss from either is a failure. n1:
 * member 0, standby 10, maintenance 20, member 30, standby 40, lost 50,
 * member 80 (a second member at 90 changes nothing). At 100: up 50 + 20 =
 * 70 s, repair 30 s, 1 failure; state online since 80. */
START_TEST(standby_maintenance) {
  av_event_t e[] = {
      ev(AT(0), AV_MEMBER, "n1", NULL),
      ev(AT(10), AV_TO_STANDBY, "n1", NULL),
      ev(AT(20), AV_TO_MAINTENANCE, "n1", NULL),
      ev(AT(30), AV_MEMBER, "n1", NULL),
      ev(AT(40), AV_TO_STANDBY, "n1", NULL),
      ev(AT(50), AV_LOST, "n1", NULL),
      ev(AT(80), AV_MEMBER, "n1", NULL),
  };
  av_journal_t *j = journal_of(e, sizeof(e) / sizeof(e[0]));
  av_event_t again = ev(AT(90), AV_MEMBER, "n1", NULL);
  ck_assert_int_eq(av_journal_add(j, &again), 0);
  size_t n;
  const av_event_t *got = av_journal_events(j, &n);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(got, n, INT64_MIN, AT(100), &r), 0);
  expect(r, AV_NODE, "n1", 1, 70000, 30000);
  ck_assert_int_eq(av_report_get(r, 0)->state, AV_ONLINE);
  ck_assert_int_eq(av_report_get(r, 0)->since_ms, AT(80));
  av_report_free(r);
  av_journal_free(j);
}
END_TEST

/* Lines parse and format back to themselves; bad ones say why. */
START_TEST(line_format) {
  static const char *good[] = {
      "1700000000000 node lost n1\n",
      "1700000000000 resource promote db n2 reconciled\n",
      "1700000000000 resource fail db -\n",
      "1700000000000 node maintenance n3 reconciled\n",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    av_event_t e;
    char buf[600];
    ck_assert_int_eq(av_event_parse(good[i], strlen(good[i]) - 1, &e, NULL, 0),
                     0);
    ck_assert_int_eq(av_event_format(&e, buf, sizeof(buf)),
                     (int)strlen(good[i]));
    ck_assert_str_eq(buf, good[i]);
  }
  static const char *bad[] = {
      "x node lost n1",      "1 node",
      "1 node start n1",     "1 disk lost n1",
      "1 resource start db", "1 node lost n1 extra",
      "-5 node lost n1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    av_event_t e;
    char why[128] = "";
    ck_assert_int_eq(
        av_event_parse(bad[i], strlen(bad[i]), &e, why, sizeof(why)), -EBADMSG);
    ck_assert(*why);
  }
  av_event_t e = ev(1, AV_LOST, "bad name", NULL);
  char buf[64];
  ck_assert_int_eq(av_event_format(&e, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* The table of the reference sequence at 1000 s (figures as in
 * check_reference), and the journal read back by a report. */
START_TEST(table) {
  av_journal_t *j;
  ck_assert_int_eq(av_journal_open(jpath, &j, NULL, NULL), 0);
  for (size_t i = 0; i < NSEQ; i++) {
    av_event_t e = seq_ev(i);
    ck_assert_int_ge(av_journal_add(j, &e), 0);
  }
  av_journal_free(j);
  av_event_t *events;
  size_t n;
  av_load_t ld;
  pm_error_t err;
  ck_assert_int_eq(av_journal_load(jpath, &events, &n, &ld, &err), 0);
  ck_assert_uint_eq(n, NSEQ - 1);
  av_report_t *r;
  ck_assert_int_eq(av_report_new(events, n, INT64_MIN, AT(1000), &r), 0);
  pm_buf_t out = {0};
  ck_assert_int_eq(av_report_format(r, &out), 0);
  ck_assert_str_eq(
      out.data,
      "KIND     NAME                     STATE     FAILURES       MTTF       "
      "MTTR    AVAIL%\n"
      "node     n1                       online           2      7m55s      "
      "25.0s    95.000\n"
      "node     n2                       online           0          -      "
      "    -   100.000\n"
      "resource db                       started          2      8m10s      "
      " 6.0s    98.790\n"
      "\n"
      "NODE LOST                AT (UTC)                FENCED OUTAGE(s) "
      "RECOVERY(s) FAILED\n"
      "n1                       2023-11-14 22:15:00.000 no          30.0 "
      "        8.0      1\n"
      "n1                       2023-11-14 22:20:00.000 no          20.0 "
      "        0.0      0\n");
  pm_buf_free(&out);
  av_report_free(r);
  free(events);
  ck_assert_int_eq(av_journal_load(DATA "missing", &events, &n, NULL, &err),
                   -ENOENT);
  /* A torn line is reported, and left in place by a reader. */
  copy_file(DATA "torn.journal", jpath);
  ck_assert_int_eq(av_journal_load(jpath, &events, &n, &ld, &err), 0);
  ck_assert(ld.torn);
  free(events);
  struct stat st;
  ck_assert_int_eq(stat(jpath, &st), 0);
  ck_assert_int_eq(st.st_size, 199); /* as shipped */
}
END_TEST

START_TEST(durations) {
  int64_t ms;
  ck_assert_int_eq(av_parse_duration("30d", &ms), 0);
  ck_assert_int_eq(ms, 30 * AV_DAY_MS);
  ck_assert_int_eq(av_parse_duration("24h", &ms), 0);
  ck_assert_int_eq(ms, 86400000);
  ck_assert_int_eq(av_parse_duration("90m", &ms), 0);
  ck_assert_int_eq(ms, 5400000);
  ck_assert_int_eq(av_parse_duration("15s", &ms), 0);
  ck_assert_int_eq(ms, 15000);
  static const char *bad[] = {
      "", "d", "30", "30x", "-3d", "0d", "3dd", " 3d", "99999999999999999d"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ck_assert_int_eq(av_parse_duration(bad[i], &ms), -EINVAL);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("avail");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, fail_repair_cycle);
  tcase_add_test(tc, node_losses);
  tcase_add_test(tc, restart_and_duplicates);
  tcase_add_test(tc, late_duplicate);
  tcase_add_test(tc, torn_line);
  tcase_add_test(tc, bad_line);
  tcase_add_test(tc, windows);
  tcase_add_test(tc, clone_and_unknown);
  tcase_add_test(tc, reconcile_fresh);
  tcase_add_test(tc, reconcile_missed);
  tcase_add_test(tc, reconcile_dated);
  tcase_add_test(tc, spool_dates_missed_loss);
  tcase_add_test(tc, no_change_keeps_time);
  tcase_add_test(tc, standby_maintenance);
  tcase_add_test(tc, alert_lead);
  tcase_add_test(tc, alert_lead_instances);
  tcase_add_test(tc, report_time_order);
  tcase_add_test(tc, line_format);
  tcase_add_test(tc, table);
  tcase_add_test(tc, durations);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return check_run(suite()); }
