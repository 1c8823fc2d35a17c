/* Unit tests for the event-following loop (follow/): the kind-to-class
 * table, option checks, a real watch and monitor driven by socket events
 * and ticks, and the log lines a step calls for. */
#include "config.h"

#include "check_run.h"
#include "follow.h"
#include "hotplug/hotplug.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[] = "/tmp/check_follow.XXXXXX";
static char patterns[256], entries[256], sock[256];

static void setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  snprintf(patterns, sizeof(patterns), "%s/patterns.conf", tmp);
  snprintf(entries, sizeof(entries), "%s/state/entries.json", tmp);
  snprintf(sock, sizeof(sock), "%s/events.sock", tmp);
  FILE *f = fopen(patterns, "w");
  ck_assert_ptr_nonnull(f);
  fputs("pattern \"root\" { class = mount  match = { \"MOUNT==/\" } }\n", f);
  fclose(f);
}

static void teardown(void) {
  char *argv[] = {"rm", "-rf", tmp, NULL};
  int st;
  pm_spawn(argv, 5000, NULL, NULL, &st);
  strcpy(tmp, "/tmp/check_follow.XXXXXX");
}

START_TEST(kinds_list_their_classes) {
  ck_assert_uint_eq(fl_classes_for_kinds(0), 0);
  ck_assert_uint_eq(fl_classes_for_kinds(HP_NET), 1u << PAT_NIC);
  ck_assert_uint_eq(fl_classes_for_kinds(HP_DEVICE),
                    1u << PAT_DISK | 1u << PAT_PARTITION);
  ck_assert_uint_eq(fl_classes_for_kinds(HP_MOUNT), 1u << PAT_MOUNT);
  /* A resource brings its data volume; a volume its resource. */
  unsigned rsc = fl_classes_for_kinds(HP_RESOURCE);
  ck_assert(rsc & 1u << PAT_RESOURCE && rsc & 1u << PAT_UNIT &&
            rsc & 1u << PAT_MOUNT && rsc & 1u << PAT_DISK);
  ck_assert(!(rsc & 1u << PAT_NIC));
  unsigned vol = fl_classes_for_kinds(HP_VOLUME);
  ck_assert(vol & 1u << PAT_RESOURCE && vol & 1u << PAT_MOUNT);
  ck_assert_uint_eq(fl_classes_for_kinds(HP_RESCAN), PAT_ALL_CLASSES);
  ck_assert_uint_eq(fl_classes_for_kinds(HP_NET | HP_MOUNT),
                    1u << PAT_NIC | 1u << PAT_MOUNT);
  /* Node membership is the balancer's business: nothing to list here. */
  ck_assert_uint_eq(fl_classes_for_kinds(HP_NODE), 0);
}
END_TEST

START_TEST(options_are_checked) {
  char why[HP_WHY_MAX];
  fl_opts_t o = {.patterns = patterns, .interval = 1};
  ck_assert_int_eq(fl_opts_check(&o, why, sizeof(why)), 0);
  o.socket = "relative.sock";
  ck_assert_int_eq(fl_opts_check(&o, why, sizeof(why)), -EINVAL);
  ck_assert_ptr_nonnull(strstr(why, "absolute"));
  o.socket = NULL;
  o.debounce_ms = 500;
  o.max_delay_ms = 100;
  ck_assert_int_eq(fl_opts_check(&o, why, sizeof(why)), -EINVAL);
  ck_assert_ptr_nonnull(strstr(why, "shorter"));
  o = (fl_opts_t){.patterns = patterns};
  ck_assert_int_eq(fl_opts_check(&o, why, sizeof(why)), -EINVAL);
  o = (fl_opts_t){.patterns = patterns, .interval = 1, .rescan_s = -1};
  ck_assert_int_eq(fl_opts_check(&o, why, sizeof(why)), -EINVAL);
  fl_t *f = NULL;
  o.socket = "relative.sock";
  ck_assert_int_eq(fl_new(&o, &f, why, sizeof(why)), -EINVAL);
  ck_assert_ptr_null(f);
}
END_TEST

/* Steps until one satisfies want or 20 s pass (a busy machine). */
static bool step_until(fl_t *f, bool (*want)(const fl_step_t *), fl_step_t *s) {
  uint64_t end = pm_now_ns() + 20 * UINT64_C(1000000000);
  while (pm_now_ns() < end) {
    ck_assert_int_eq(fl_next(f, 0, s), 0);
    if (want(s))
      return true;
  }
  return false;
}

static bool got_batch(const fl_step_t *s) { return s->batch; }
static bool got_tick(const fl_step_t *s) { return s->tick; }
static bool got_drops(const fl_step_t *s) { return s->drops; }

START_TEST(events_and_ticks_refresh) {
  char why[HP_WHY_MAX];
  fl_opts_t o = {.patterns = patterns,
                 .entries_file = entries,
                 .socket = sock,
                 .interval = 0.3,
                 .first_tick = 0.1};
  fl_t *f = NULL;
  ck_assert_msg(fl_new(&o, &f, why, sizeof(why)) == 0, "%s", why);
  ck_assert_ptr_null(fl_monitor(f));
  pm_error_t err = {0};
  ck_assert_int_eq(fl_start(f, &err), 0);
  ck_assert_ptr_nonnull(fl_monitor(f));
  ck_assert_int_eq(access(entries, F_OK), 0);
  char line[256];
  fl_describe(f, line, sizeof(line));
  ck_assert_msg(strncmp(line, "1 entries from ", 15) == 0, "%s", line);
  ck_assert_ptr_nonnull(strstr(line, sock));

  /* A tick checks the pattern file; the set lists no processes, so no
   * class is listed again and no expansion is counted (unless a real mount
   * event came meanwhile: the machine is shared). */
  fl_step_t s;
  ck_assert(step_until(f, got_tick, &s));
  ck_assert(s.refreshed);
  ck_assert_int_eq(s.rc, 0);
  fl_stats_t st;
  fl_stats(f, &st);
  if (!s.batch)
    ck_assert_uint_eq(s.classes, 0);
  if (st.events == 0)
    ck_assert_uint_eq(st.expansions, 0);

  /* A rescan asked for over the socket lists every class the set uses. */
  ck_assert_int_eq(hp_send(sock, "rescan\n", 7, 5000), 0);
  ck_assert(step_until(f, got_batch, &s));
  ck_assert(s.refreshed);
  ck_assert_int_eq(s.rc, 0);
  ck_assert_uint_eq(s.classes, 1u << PAT_MOUNT);
  ck_assert_uint_eq(s.info.entries, 1);
  fl_stats(f, &st);
  ck_assert_uint_ge(st.events, 1);
  ck_assert_uint_eq(st.dropped, 0);
  ck_assert_uint_ge(st.expansions, 1);

  /* A bad message is counted and reported once as a warning. */
  ck_assert_int_eq(hp_send(sock, "explode now\n", 12, 5000), 0);
  ck_assert(step_until(f, got_drops, &s));
  fl_stats(f, &st);
  ck_assert_uint_eq(st.dropped, 1);
  fl_free(f);
  fl_free(NULL);
}
END_TEST

START_TEST(wake_returns_early) {
  char why[HP_WHY_MAX];
  fl_opts_t o = {.patterns = patterns, .interval = 60};
  fl_t *f = NULL;
  ck_assert_msg(fl_new(&o, &f, why, sizeof(why)) == 0, "%s", why);
  pm_error_t err = {0};
  ck_assert_int_eq(fl_start(f, &err), 0);
  fl_wake(f);
  uint64_t t0 = pm_now_ns();
  fl_step_t s;
  /* Other tests on this machine may make real events: without one, a
   * wake-up lists nothing. */
  ck_assert_int_eq(fl_next(f, 0, &s), 0);
  ck_assert(!s.tick);
  ck_assert(s.batch || !s.refreshed);
  /* A host's own deadline ends the wait too (measured, not asserted
   * tight: the machine may be busy). */
  ck_assert_int_eq(fl_next(f, (double)pm_now_ns() / 1e9 + 0.05, &s), 0);
  ck_assert(s.batch || !s.refreshed);
  ck_assert_uint_lt(pm_now_ns() - t0, 30 * UINT64_C(1000000000));
  fl_free(f);
}
END_TEST

struct runlog {
  int started, start_errors, steps; /* atomics */
};

static double run_step(fl_t *f, const fl_step_t *s, void *ud) {
  struct runlog *l = ud;
  (void)f;
  if (s->started)
    __atomic_add_fetch(&l->started, 1, __ATOMIC_SEQ_CST);
  if (s->start_error < 0)
    __atomic_add_fetch(&l->start_errors, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&l->steps, 1, __ATOMIC_SEQ_CST);
  return 0;
}

/* Waits up to 20 s for *counter to reach n. */
static bool reaches(int *counter, int n) {
  for (int i = 0; i < 2000; i++) {
    if (__atomic_load_n(counter, __ATOMIC_SEQ_CST) >= n)
      return true;
    usleep(10000);
  }
  return false;
}

/* fl_run's thread retries a bad pattern file, reporting its error once,
 * and starts once the file is fixed. */
START_TEST(run_retries_the_first_expansion) {
  FILE *pf = fopen(patterns, "w");
  ck_assert_ptr_nonnull(pf);
  fputs("pattern \"x\" { class = toaster }\n", pf);
  fclose(pf);
  char why[HP_WHY_MAX];
  fl_opts_t o = {.patterns = patterns, .interval = 0.1};
  fl_t *f = NULL;
  ck_assert_msg(fl_new(&o, &f, why, sizeof(why)) == 0, "%s", why);
  struct runlog l = {0};
  ck_assert_int_eq(fl_run(f, NULL, "check follow", run_step, &l), 0);
  ck_assert(reaches(&l.steps, 4)); /* four tries at least */
  ck_assert_int_eq(__atomic_load_n(&l.start_errors, __ATOMIC_SEQ_CST), 1);
  ck_assert_int_eq(__atomic_load_n(&l.started, __ATOMIC_SEQ_CST), 0);
  pf = fopen(patterns, "w");
  ck_assert_ptr_nonnull(pf);
  fputs("pattern \"root\" { class = mount  match = { \"MOUNT==/\" } }\n", pf);
  fclose(pf);
  ck_assert(reaches(&l.started, 1));
  fl_stop(f);
  fl_stop(f); /* twice: a no-op */
  fl_free(f);
}
END_TEST

struct lines {
  char text[8][1400];
  enum fl_level level[8];
  int n;
};

static void take(enum fl_level level, const char *line, void *ud) {
  struct lines *l = ud;
  ck_assert_int_lt(l->n, 8);
  l->level[l->n] = level;
  snprintf(l->text[l->n++], sizeof(l->text[0]), "%s", line);
}

START_TEST(steps_say_what_is_wrong_or_new) {
  char why[HP_WHY_MAX];
  fl_opts_t o = {
      .patterns = patterns, .entries_file = "/x/entries.json", .interval = 60};
  fl_t *f = NULL;
  ck_assert_msg(fl_new(&o, &f, why, sizeof(why)) == 0, "%s", why);
  struct lines l = {0};
  fl_step_t s = {.refreshed = true};
  fl_step_lines(f, &s, take, &l);
  ck_assert_int_eq(l.n, 0); /* nothing wrong, nothing new: quiet */
  s.rc = -EIO;
  fl_step_lines(f, &s, take, &l);
  ck_assert_int_eq(l.n, 1);
  ck_assert_int_eq(l.level[0], FL_ERROR);
  ck_assert_str_eq(l.text[0], "looking again failed: Input/output error; "
                              "keeping the last entries");
  l.n = 0;
  s = (fl_step_t){.refreshed = true,
                  .info = {.write_error = -EROFS,
                           .reloaded = true,
                           .entries = 3,
                           .added = 1,
                           .scan_ms = 2.5}};
  fl_step_lines(f, &s, take, &l);
  ck_assert_int_eq(l.n, 3);
  ck_assert_int_eq(l.level[0], FL_ERROR);
  ck_assert_ptr_nonnull(strstr(l.text[0], "/x/entries.json: cannot write"));
  ck_assert_str_eq(l.text[1], "pattern file reloaded");
  ck_assert_str_eq(l.text[2], "3 entries (1 new, 0 gone) in 2.5 ms");
  ck_assert_int_eq(l.level[2], FL_INFO);
  l.n = 0;
  s = (fl_step_t){.drops = true};
  snprintf(s.drops_line, sizeof(s.drops_line), "1 dropped");
  fl_step_lines(f, &s, take, &l);
  ck_assert_int_eq(l.n, 1);
  ck_assert_int_eq(l.level[0], FL_WARNING);
  ck_assert_str_eq(l.text[0], "event socket: 1 dropped");
  fl_free(f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("follow");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 90);
  tcase_add_test(tc, kinds_list_their_classes);
  tcase_add_test(tc, options_are_checked);
  tcase_add_test(tc, events_and_ticks_refresh);
  tcase_add_test(tc, wake_returns_early);
  tcase_add_test(tc, run_retries_the_first_expansion);
  tcase_add_test(tc, steps_say_what_is_wrong_or_new);
  suite_add_tcase(s, tc);
  return check_run(s);
}
