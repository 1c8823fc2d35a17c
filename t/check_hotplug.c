/* Unit tests for hotplug/: the socket grammar, coalescing on a fake clock,
 * the event socket file, and real events (sockets, mounts, veth). */
#include "config.h"

#include "check_run.h"
#include "hotplug/hotplug.h"
#include "hotplug/internal.h"
#include "pm.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000ull

static char tmpdir[] = "/tmp/check_hotplug.XXXXXX";
static char sock_path[100];

static void setup(void) {
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(sock_path, sizeof(sock_path), "%s/events.sock", tmpdir);
}

static void teardown(void) {
  char *argv[] = {"rm", "-rf", tmpdir, NULL};
  int st;
  pm_spawn(argv, 5000, NULL, NULL, &st);
  strcpy(tmpdir, "/tmp/check_hotplug.XXXXXX");
}

/* ---- grammar ---- */

static const struct parse_case {
  const char *in;
  size_t len; /* 0: strlen(in) */
  int r;
  unsigned kind;
  hp_action_t action;
  const char *name; /* expected name, or a fragment of why on error */
} parse_cases[] = {
    {"resource start web", 0, 0, HP_RESOURCE, HP_ACT_START, "web"},
    {"resource stop db-1.x\n", 0, 0, HP_RESOURCE, HP_ACT_STOP, "db-1.x"},
    {"resource migrate vm_2:3\r\n", 0, 0, HP_RESOURCE, HP_ACT_MIGRATE,
     "vm_2:3"},
    {" resource\tstart \t _web  \n", 0, 0, HP_RESOURCE, HP_ACT_START, "_web"},
    {"resource start caf\xc3\xa9", 0, 0, HP_RESOURCE, HP_ACT_START,
     "caf\xc3\xa9"},
    {"volume add /srv/data one", 0, 0, HP_VOLUME, HP_ACT_ADD, "/srv/data one"},
    {"volume remove /\n", 0, 0, HP_VOLUME, HP_ACT_REMOVE, "/"},
    {"volume remove /srv/.snap/a..b", 0, 0, HP_VOLUME, HP_ACT_REMOVE,
     "/srv/.snap/a..b"},
    {"rescan", 0, 0, HP_RESCAN, HP_ACT_NONE, ""},
    {"rescan \r\n", 0, 0, HP_RESCAN, HP_ACT_NONE, ""},
    {"node lost node1\n", 0, 0, HP_NODE, HP_ACT_LOST, "node1"},
    {"node member 10-db.example_1", 0, 0, HP_NODE, HP_ACT_MEMBER,
     "10-db.example_1"},
    {"node fenced n3\n", 0, 0, HP_NODE, HP_ACT_FENCED, "n3"},
    {"node lost", 0, -EBADMSG, 0, 0, "node name missing"},
    {"node lost a b", 0, -EBADMSG, 0, 0, "unexpected text after node name"},
    {"node lost web:1", 0, -EBADMSG, 0, 0, "bad character in node name"},
    {"node gone n1", 0, -EBADMSG, 0, 0, "unknown action for node"},
    {"", 0, -EBADMSG, 0, 0, "empty message"},
    {"  \n", 0, -EBADMSG, 0, 0, "empty message"},
    {"bogus x", 0, -EBADMSG, 0, 0, "unknown message type"},
    {"RESCAN", 0, -EBADMSG, 0, 0, "unknown message type"},
    {"resource", 0, -EBADMSG, 0, 0, "missing action for resource"},
    {"resource restart web", 0, -EBADMSG, 0, 0, "unknown action for resource"},
    {"volume start /x", 0, -EBADMSG, 0, 0, "unknown action for volume"},
    {"resource start", 0, -EBADMSG, 0, 0, "resource name missing"},
    {"resource start 1web", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start -web", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start we/b", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start web:", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start web:1x", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start web:1:2", 0, -EBADMSG, 0, 0, "bad character"},
    {"resource start web db", 0, -EBADMSG, 0, 0, "unexpected text"},
    {"rescan now", 0, -EBADMSG, 0, 0, "unexpected text after rescan"},
    {"volume add", 0, -EBADMSG, 0, 0, "volume path missing"},
    {"volume add srv/x", 0, -EBADMSG, 0, 0, "not absolute"},
    {"volume add /srv//x", 0, -EBADMSG, 0, 0, "not canonical"},
    {"volume add /srv/./x", 0, -EBADMSG, 0, 0, "not canonical"},
    {"volume add /srv/..", 0, -EBADMSG, 0, 0, "not canonical"},
    {"volume add /srv/", 0, -EBADMSG, 0, 0, "not canonical"},
    {"resource start w\x01"
     "eb",
     0, -EBADMSG, 0, 0, "control character"},
    {"resource start web\0x", 20, -EBADMSG, 0, 0, "control character"},
    {"rescan\n\n", 0, -EBADMSG, 0, 0, "control character"},
    {"volume add /a\x7f", 0, -EBADMSG, 0, 0, "control character"},
};

START_TEST(parse_table) {
  const struct parse_case *c = &parse_cases[_i];
  hp_event_t ev = {.kind = 0xdead};
  char why[HP_WHY_MAX] = "";
  size_t len = c->len ? c->len : strlen(c->in);
  int r = hp_parse_message(c->in, len, &ev, why, sizeof(why));
  ck_assert_msg(r == c->r, "\"%s\": %d, expected %d (%s)", c->in, r, c->r, why);
  if (r == 0) {
    ck_assert_uint_eq(ev.kind, c->kind);
    ck_assert_int_eq(ev.action, c->action);
    ck_assert_str_eq(ev.name, c->name);
  } else {
    ck_assert_msg(strstr(why, c->name), "\"%s\": why \"%s\" lacks \"%s\"",
                  c->in, why, c->name);
    ck_assert_uint_eq(ev.kind, 0xdead); /* untouched on error */
  }
}
END_TEST

/* A message whose argument is n bytes of fill, after prefix. */
static int parse_sized(const char *prefix, size_t n, char fill, hp_event_t *ev,
                       char *why) {
  pm_buf_t b = {0};
  ck_assert_int_eq(pm_buf_puts(&b, prefix), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(pm_buf_putc(&b, fill), 0);
  int r = hp_parse_message(b.data, b.len, ev, why, HP_WHY_MAX);
  pm_buf_free(&b);
  return r;
}

START_TEST(parse_limits) {
  hp_event_t ev;
  char why[HP_WHY_MAX];
  ck_assert_int_eq(parse_sized("resource start ", HP_NAME_MAX, 'a', &ev, why),
                   0);
  ck_assert_uint_eq(strlen(ev.name), HP_NAME_MAX);
  ck_assert_int_eq(
      parse_sized("resource start ", HP_NAME_MAX + 1, 'a', &ev, why),
      -EMSGSIZE);
  ck_assert_ptr_nonnull(strstr(why, "too long (256 > 255"));
  /* "/" then HP_PATH_MAX - 1 bytes: exactly at the limit. */
  ck_assert_int_eq(parse_sized("volume add /", HP_PATH_MAX - 1, 'p', &ev, why),
                   0);
  ck_assert_uint_eq(strlen(ev.name), HP_PATH_MAX);
  ck_assert_int_eq(parse_sized("volume add /", HP_PATH_MAX, 'p', &ev, why),
                   -EMSGSIZE);
  ck_assert_int_eq(parse_sized("node lost ", HP_NAME_MAX, 'n', &ev, why), 0);
  ck_assert_int_eq(parse_sized("node lost ", HP_NAME_MAX + 1, 'n', &ev, why),
                   -EMSGSIZE);
  ck_assert_int_eq(parse_sized("rescan", HP_DGRAM_MAX, ' ', &ev, why),
                   -EMSGSIZE);
  ck_assert_ptr_nonnull(strstr(why, "message too long"));
  /* why may be NULL or tiny. */
  ck_assert_int_eq(hp_parse_message("x", 1, &ev, NULL, 0), -EBADMSG);
  char tiny[4];
  ck_assert_int_eq(hp_parse_message("x", 1, &ev, tiny, sizeof(tiny)), -EBADMSG);
  ck_assert_uint_eq(strlen(tiny), 3);
}
END_TEST

START_TEST(format_round_trip) {
  for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
    const struct parse_case *c = &parse_cases[i];
    if (c->r)
      continue;
    hp_event_t ev, back;
    ck_assert_int_eq(hp_parse_message(c->in, strlen(c->in), &ev, NULL, 0), 0);
    char line[HP_DGRAM_MAX];
    int n = hp_format_message(&ev, line, sizeof(line));
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, strlen(line));
    ck_assert_int_eq(line[n - 1], '\n');
    ck_assert_int_eq(hp_parse_message(line, (size_t)n, &back, NULL, 0), 0);
    ck_assert_uint_eq(back.kind, ev.kind);
    ck_assert_int_eq(back.action, ev.action);
    ck_assert_str_eq(back.name, ev.name);
  }
  hp_event_t ev = {.kind = HP_RESOURCE, .action = HP_ACT_START};
  strcpy(ev.name, "web");
  char small[8];
  ck_assert_int_eq(hp_format_message(&ev, small, sizeof(small)), 19);
  ck_assert_str_eq(small, "resourc");
  /* Not a socket message, or one the receiver would drop. */
  strcpy(ev.name, "has space");
  ck_assert_int_eq(hp_format_message(&ev, small, sizeof(small)), -EINVAL);
  ev.kind = HP_DEVICE;
  strcpy(ev.name, "sda");
  ck_assert_int_eq(hp_format_message(&ev, small, sizeof(small)), -EINVAL);
  hp_event_t rescan = {.kind = HP_RESCAN, .action = HP_ACT_NONE};
  strcpy(rescan.name, "x");
  ck_assert_int_eq(hp_format_message(&rescan, small, sizeof(small)), -EINVAL);
  /* A name without its NUL is refused, not overrun. */
  memset(ev.name, 'a', sizeof(ev.name));
  ev.kind = HP_RESOURCE;
  ck_assert_int_eq(hp_format_message(&ev, small, sizeof(small)), -EINVAL);
}
END_TEST

START_TEST(names) {
  ck_assert_str_eq(hp_kind_name(HP_NET), "net");
  ck_assert_str_eq(hp_kind_name(HP_RESCAN), "rescan");
  ck_assert_str_eq(hp_kind_name(HP_NET | HP_DEVICE), "?");
  ck_assert_str_eq(hp_action_name(HP_ACT_MIGRATE), "migrate");
  ck_assert_str_eq(hp_kind_name(HP_NODE), "node");
  ck_assert_str_eq(hp_action_name(HP_ACT_LOST), "lost");
  ck_assert_str_eq(hp_action_name(HP_ACT_NONE), "");
  ck_assert_str_eq(hp_action_name((hp_action_t)99), "?");
}
END_TEST

/* ---- coalescing on a fake clock ---- */

/* Events at the given times (ms, ascending); the clock then advances 1 ms at
 * a time and the batches taken are compared with the expected ones. */
static const struct co_case {
  const char *what;
  int debounce, max_delay;
  int every_ms, count, per_tick; /* count ticks of per_tick events */
  int n_batches;
  struct {
    int at_ms;
    unsigned events;
  } batches[4];
} co_cases[] = {
    {"one event waits out the debounce", 150, 1000, 1, 1, 1, 1, {{150, 1}}},
    {"close events share one batch", 150, 1000, 100, 3, 1, 1, {{350, 3}}},
    {"a steady trickle is cut at max_delay",
     150,
     1000,
     100,
     26,
     1,
     3,
     {{1000, 11}, {2100, 11}, {2650, 4}}},
    {"5000 events in a second give one batch",
     150,
     1000,
     1,
     1000,
     5,
     1,
     {{1000, 5000}}},
    {"gaps longer than the debounce split",
     50,
     1000,
     100,
     3,
     1,
     3,
     {{50, 1}, {150, 1}, {250, 1}}},
    {"debounce equal to max_delay",
     200,
     200,
     10,
     50,
     1,
     3,
     {{200, 21}, {410, 21}, {620, 8}}},
};

START_TEST(coalesce_table) {
  const struct co_case *c = &co_cases[_i];
  hp_coalesce_t *co = malloc(sizeof(*co));
  hp_batch_t *b = malloc(sizeof(*b));
  ck_assert_ptr_nonnull(co);
  ck_assert_ptr_nonnull(b);
  hp_co_init(co, c->debounce, c->max_delay);
  hp_event_t ev = {.kind = HP_RESOURCE, .action = HP_ACT_START};
  strcpy(ev.name, "web");
  int got = 0, end = c->every_ms * c->count + c->max_delay + 10;
  for (int t = 0; t <= end; t++) {
    if (t % c->every_ms == 0 && t / c->every_ms < c->count)
      for (int k = 0; k < c->per_tick; k++)
        hp_co_add(co, (uint64_t)t * MS, &ev);
    if (!hp_co_take(co, (uint64_t)t * MS, b))
      continue;
    ck_assert_msg(got < c->n_batches, "%s: extra batch at %d ms", c->what, t);
    ck_assert_msg(
        t == c->batches[got].at_ms && b->events == c->batches[got].events,
        "%s: batch %d at %d ms with %u events, expected %d ms, %u", c->what,
        got, t, b->events, c->batches[got].at_ms, c->batches[got].events);
    ck_assert_uint_eq(b->nitems, 1);
    got++;
  }
  ck_assert_msg(got == c->n_batches, "%s: %d batches", c->what, got);
  ck_assert_uint_eq(hp_co_deadline(co), UINT64_MAX);
  free(co);
  free(b);
}
END_TEST

/* A storm with a pause longer than the debounce in it (its sender was
 * descheduled) stays one batch; a lone event still goes after the debounce. */
START_TEST(coalesce_storm_survives_a_pause) {
  hp_coalesce_t *co = malloc(sizeof(*co));
  hp_batch_t *b = malloc(sizeof(*b));
  hp_co_init(co, 20, 2000);
  hp_event_t ev = {.kind = HP_RESOURCE, .action = HP_ACT_START};
  strcpy(ev.name, "web");
  int got = 0;
  for (int t = 0; t < 1500; t++) {
    if (t < 200 || (t >= 300 && t < 500))
      hp_co_add(co, (uint64_t)t * MS, &ev);
    if (hp_co_take(co, (uint64_t)t * MS, b)) {
      ck_assert_int_eq(t, 499 + 200);
      ck_assert_uint_eq(b->events, 400);
      got++;
    }
  }
  ck_assert_int_eq(got, 1);
  hp_co_add(co, 2000 * MS, &ev);
  ck_assert_int_eq(hp_co_take(co, 2019 * MS, b), 0);
  ck_assert_int_eq(hp_co_take(co, 2020 * MS, b), 1);
  ck_assert_uint_eq(b->events, 1);
  free(co);
  free(b);
}
END_TEST

START_TEST(coalesce_items_and_drops) {
  hp_coalesce_t *co = malloc(sizeof(*co));
  hp_batch_t *b = malloc(sizeof(*b));
  hp_co_init(co, 100, 1000);
  ck_assert_uint_eq(hp_co_deadline(co), UINT64_MAX);
  ck_assert_int_eq(hp_co_take(co, 5000 * MS, b), 0);
  hp_event_t ev = {.kind = HP_NET, .action = HP_ACT_ADD};
  for (int i = 0; i < 20; i++) {
    snprintf(ev.name, sizeof(ev.name), "veth%d", i);
    hp_co_add(co, 10 * MS, &ev);
    hp_co_add(co, 10 * MS, &ev); /* duplicates are counted, not listed */
  }
  hp_co_drop(co, 20 * MS, "unknown message type", "bogus \x01\"x\"", 10);
  hp_co_drop(co, 30 * MS, "second", "y", 1);
  ck_assert_uint_eq(hp_co_deadline(co), 130 * MS);
  ck_assert_int_eq(hp_co_take(co, 129 * MS, b), 0);
  ck_assert_int_eq(hp_co_take(co, 130 * MS, b), 1);
  ck_assert_uint_eq(b->events, 40);
  ck_assert_uint_eq(b->nitems, HP_BATCH_ITEMS);
  ck_assert_uint_eq(b->unlisted, 2 * (20 - HP_BATCH_ITEMS));
  ck_assert_str_eq(b->items[0].name, "veth0");
  ck_assert_str_eq(b->items[HP_BATCH_ITEMS - 1].name, "veth15");
  ck_assert_uint_eq(b->dropped, 2);
  ck_assert_str_eq(b->first_dropped, "unknown message type: \"bogus ??x?\"");
  ck_assert_uint_eq(b->first_ns, 10 * MS);
  ck_assert_uint_eq(b->last_ns, 30 * MS);
  ck_assert_uint_eq(b->kinds, HP_NET);
  /* The next batch starts empty. */
  hp_co_add(co, 200 * MS, &ev);
  ck_assert_int_eq(hp_co_take(co, 300 * MS, b), 1);
  ck_assert_uint_eq(b->events, 1);
  ck_assert_uint_eq(b->dropped, 0);
  ck_assert_str_eq(b->first_dropped, "");
  free(co);
  free(b);
}
END_TEST

static const struct dgram_case {
  const char *data;
  size_t full_len; /* 0: strlen(data) */
  unsigned events, dropped, kinds;
  const char *first_dropped;
} dgram_cases[] = {
    {"resource start a\nresource stop b\n", 0, 2, 0, HP_RESOURCE, ""},
    {"rescan\n\n\r\nbogus\n", 0, 1, 1, HP_RESCAN,
     "unknown message type: \"bogus?\""},
    {"volume add /srv/x\nvolume add rel", 0, 1, 1, HP_VOLUME,
     "volume path not absolute: \"volume add rel\""},
    {"", 0, 0, 1, 0, "empty datagram: \"\""},
    {"\n \n", 0, 0, 1, 0, "empty datagram: \"? ?\""},
    {"rescan", 5000, 0, 1, 0,
     "datagram too long (5000 > 4096 bytes): \"rescan\""},
    {"resource start "
     "a_name_long_enough_to_be_cut_in_the_excerpt\x01\n",
     0, 0, 1, 0,
     "control character at byte 59: \"resource start "
     "a_name_long_enough_to_be_cut_in_t\"..."},
};

START_TEST(datagram_table) {
  const struct dgram_case *c = &dgram_cases[_i];
  hp_coalesce_t *co = malloc(sizeof(*co));
  hp_batch_t *b = malloc(sizeof(*b));
  hp_co_init(co, 100, 1000);
  size_t len = strlen(c->data);
  hp_co_datagram(co, 0, c->data, len, c->full_len ? c->full_len : len);
  ck_assert_int_eq(hp_co_take(co, 100 * MS, b), 1);
  ck_assert_msg(b->events == c->events && b->dropped == c->dropped &&
                    b->kinds == c->kinds,
                "\"%s\": %u events, %u dropped, kinds %x", c->data, b->events,
                b->dropped, b->kinds);
  ck_assert_str_eq(b->first_dropped, c->first_dropped);
  free(co);
  free(b);
}
END_TEST

START_TEST(batch_format) {
  hp_batch_t *b = calloc(1, sizeof(*b));
  char line[512];
  ck_assert_int_eq(hp_batch_format(b, line, sizeof(line)), 8);
  ck_assert_str_eq(line, "0 events");
  b->kinds = HP_NET | HP_RESOURCE | HP_MOUNT;
  b->events = 7;
  b->nitems = 3;
  b->items[0] = (hp_event_t){.kind = HP_NET, .action = HP_ACT_ADD};
  strcpy(b->items[0].name, "veth0");
  b->items[1] = (hp_event_t){.kind = HP_MOUNT, .action = HP_ACT_NONE};
  b->items[2] = (hp_event_t){.kind = HP_RESOURCE, .action = HP_ACT_START};
  strcpy(b->items[2].name, "web");
  b->unlisted = 2;
  b->dropped = 3;
  strcpy(b->first_dropped, "unknown message type: \"x\"");
  const char *want = "7 events (net, mount, resource): net add veth0, mount, "
                     "resource start web, +2 more; 3 dropped, first: unknown "
                     "message type: \"x\"";
  ck_assert_int_eq(hp_batch_format(b, line, sizeof(line)), (int)strlen(want));
  ck_assert_str_eq(line, want);
  /* Truncated like snprintf, and the length it needs is still returned. */
  ck_assert_int_eq(hp_batch_format(b, line, 10), (int)strlen(want));
  ck_assert_str_eq(line, "7 events ");
  ck_assert_int_eq(hp_batch_format(b, NULL, 0), (int)strlen(want));
  free(b);
}
END_TEST

/* A sender of a bad datagram every 30 ms: one log line at once, then one
 * summary a minute, and no drop left uncounted. */
START_TEST(drop_reports_are_rate_limited) {
  hp_drops_t d;
  hp_drops_init(&d, 0);
  hp_batch_t *b = calloc(1, sizeof(*b));
  char line[256];
  unsigned lines = 0, reported = 0, sent = 0;
  b->dropped = 1;
  strcpy(b->first_dropped, "unknown message type: \"bogus\"");
  for (uint64_t t = 0; t < 200000; t += 30) {
    sent++;
    if (hp_drops_report(&d, b, t * MS, line, sizeof(line))) {
      lines++;
      reported += (unsigned)strtoul(line, NULL, 10);
      ck_assert_ptr_nonnull(strstr(line, "first: unknown message type"));
      if (lines == 1)
        ck_assert_str_eq(line, "1 dropped, first: unknown message type: "
                               "\"bogus\"");
      else
        ck_assert_ptr_nonnull(strstr(line, "dropped in the last 60 s"));
    }
    /* the host's loop also calls in without a batch */
    if (hp_drops_report(&d, NULL, t * MS + 1, line, sizeof(line))) {
      lines++;
      reported += (unsigned)strtoul(line, NULL, 10);
    }
  }
  ck_assert_uint_eq(lines, 4); /* at 0, 60, 120 and 180 s */
  /* The rest comes out once its minute is up, with or without new drops. */
  ck_assert(!hp_drops_report(&d, NULL, 230000 * MS, line, sizeof(line)));
  ck_assert(hp_drops_report(&d, NULL, 240000 * MS, line, sizeof(line)));
  reported += (unsigned)strtoul(line, NULL, 10);
  ck_assert_uint_eq(reported, sent);
  /* After a quiet spell the next drop is news again, at once. */
  ck_assert(hp_drops_report(&d, b, 900000 * MS, line, sizeof(line)));
  ck_assert_str_eq(line, "1 dropped, first: unknown message type: \"bogus\"");
  /* Batches without drops say nothing. */
  b->dropped = 0;
  ck_assert(!hp_drops_report(&d, b, 2000000 * MS, line, sizeof(line)));
  free(b);
}
END_TEST

static const struct cfg_case {
  hp_config_t in;
  int r;
  int debounce, max_delay;
} cfg_cases[] = {
    {{.sources = HP_SRC_UDEV}, 0, 150, 1000},
    {{.sources = HP_SRC_UDEV, .debounce_ms = 2000}, 0, 2000, 2000},
    {{.sources = HP_SRC_MOUNTS, .debounce_ms = 20, .max_delay_ms = 20},
     0,
     20,
     20},
    {{.sources = 0}, -EINVAL, 0, 0},
    {{.sources = 0x80}, -EINVAL, 0, 0},
    {{.sources = HP_SRC_SOCKET}, -EINVAL, 0, 0},
    {{.sources = HP_SRC_UDEV, .socket_path = "/run/x"}, -EINVAL, 0, 0},
    {{.sources = HP_SRC_UDEV, .debounce_ms = -1}, -EINVAL, 0, 0},
    {{.sources = HP_SRC_UDEV, .debounce_ms = 100, .max_delay_ms = 50},
     -EINVAL,
     0,
     0},
    {{.sources = HP_SRC_UDEV, .max_delay_ms = 700000}, -EINVAL, 0, 0},
};

START_TEST(config_table) {
  const struct cfg_case *c = &cfg_cases[_i];
  hp_config_t out = {0};
  char why[HP_WHY_MAX] = "";
  ck_assert_int_eq(hp_config_check(&c->in, &out, why, sizeof(why)), c->r);
  if (c->r == 0) {
    ck_assert_int_eq(out.debounce_ms, c->debounce);
    ck_assert_int_eq(out.max_delay_ms, c->max_delay);
  } else {
    ck_assert_uint_gt(strlen(why), 10);
    hp_watch_t *w = (hp_watch_t *)&out;
    ck_assert_int_eq(hp_watch_new(&c->in, &w, NULL, 0), c->r);
    ck_assert_ptr_eq(w, (hp_watch_t *)&out); /* untouched */
  }
}
END_TEST

/* ---- the event socket ---- */

static int send_to(const char *path, const void *msg, size_t len) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  ssize_t n = sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa));
  int e = errno;
  close(fd);
  return n < 0 ? -e : 0;
}

static int send_str(const char *path, const char *msg) {
  return send_to(path, msg, strlen(msg));
}

static hp_watch_t *socket_watch(const char *path, int debounce, int max_delay) {
  hp_config_t cfg = {.sources = HP_SRC_SOCKET,
                     .socket_path = path,
                     .debounce_ms = debounce,
                     .max_delay_ms = max_delay};
  hp_watch_t *w = NULL;
  char why[HP_WHY_MAX] = "";
  int r = hp_watch_new(&cfg, &w, why, sizeof(why));
  ck_assert_msg(r == 0, "hp_watch_new: %d %s", r, why);
  return w;
}

/* A group to give the socket: one other than ours when there is one. */
static gid_t other_group(const char **ret_name) {
  static const char *const candidates[] = {"haclient", "daemon", "adm",
                                           "nogroup"};
  for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
    struct group *g = getgrnam(candidates[i]);
    if (g && g->gr_gid != getegid()) {
      *ret_name = candidates[i];
      return g->gr_gid;
    }
  }
  *ret_name = NULL;
  return getegid();
}

START_TEST(socket_mode_owner_and_removal) {
  char path[160];
  snprintf(path, sizeof(path), "%s/run/ev.sock", tmpdir); /* run/ missing */
  const char *group;
  gid_t gid = other_group(&group);
  hp_config_t cfg = {
      .sources = HP_SRC_SOCKET, .socket_path = path, .socket_group = group};
  hp_watch_t *w = NULL;
  char why[HP_WHY_MAX] = "";
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), 0);
  struct stat st;
  ck_assert_int_eq(lstat(path, &st), 0);
  ck_assert(S_ISSOCK(st.st_mode));
  ck_assert_uint_eq(st.st_mode & 07777, 0660);
  ck_assert_uint_eq(st.st_uid, geteuid());
  ck_assert_uint_eq(st.st_gid, gid);
  char dir[160];
  snprintf(dir, sizeof(dir), "%s/run", tmpdir);
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert_uint_eq(st.st_mode & 07777, 0755);
  ck_assert_ptr_null(hp_watch_udev_kind(w));
  hp_watch_free(w);
  ck_assert_int_eq(lstat(path, &st), -1);
  ck_assert_int_eq(errno, ENOENT);
  /* Nothing else was left in the directory (the private bind dir). */
  ck_assert_int_eq(rmdir(dir), 0);
  hp_watch_free(NULL);

  cfg.socket_group = "no-such-group-patmon";
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(why, "unknown group"));
}
END_TEST

START_TEST(socket_refuses_bad_paths) {
  hp_config_t cfg = {.sources = HP_SRC_SOCKET, .socket_path = "rel.sock"};
  hp_watch_t *w = NULL;
  char why[HP_WHY_MAX] = "";
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -EINVAL);
  cfg.socket_path = "/";
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -EINVAL);
  char longp[200];
  memset(longp, 'x', sizeof(longp));
  longp[0] = '/';
  longp[sizeof(longp) - 1] = '\0';
  cfg.socket_path = longp;
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -ENAMETOOLONG);
  ck_assert_ptr_nonnull(strstr(why, "too long"));

  /* A regular file and a symlink are left alone. */
  char file[160], link[160];
  snprintf(file, sizeof(file), "%s/file", tmpdir);
  snprintf(link, sizeof(link), "%s/link", tmpdir);
  ck_assert_int_eq(pm_file_replace(file, "keep", 4, 0644), 1);
  ck_assert_int_eq(symlink(sock_path, link), 0);
  cfg.socket_path = file;
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -EEXIST);
  ck_assert_ptr_nonnull(strstr(why, "not a socket"));
  cfg.socket_path = link;
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -EEXIST);
  pm_buf_t b = {0};
  ck_assert_int_eq(pm_file_read(file, 100, &b), 0);
  ck_assert_str_eq(b.data, "keep");
  pm_buf_free(&b);
  ck_assert_int_eq(access(sock_path, F_OK), -1);
  /* A directory in the way of the socket's directory. */
  snprintf(link, sizeof(link), "%s/file/ev.sock", tmpdir);
  cfg.socket_path = link;
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), -ENOTDIR);
  ck_assert_ptr_null(w);
}
END_TEST

START_TEST(socket_stale_and_live) {
  /* A socket file nobody is bound to any more: replaced. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  close(fd);
  ck_assert_int_eq(send_str(sock_path, "rescan"), -ECONNREFUSED);
  hp_watch_t *w = socket_watch(sock_path, 20, 100);
  ck_assert_int_eq(send_str(sock_path, "rescan"), 0);
  hp_batch_t b;
  ck_assert_int_eq(hp_watch_next(w, 2000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.kinds, HP_RESCAN);

  /* A live one: refused, and the first watch keeps working. */
  hp_config_t cfg = {.sources = HP_SRC_SOCKET, .socket_path = sock_path};
  hp_watch_t *w2 = NULL;
  char why[HP_WHY_MAX] = "";
  ck_assert_int_eq(hp_watch_new(&cfg, &w2, why, sizeof(why)), -EADDRINUSE);
  ck_assert_ptr_nonnull(strstr(why, "in use"));
  ck_assert_int_eq(send_str(sock_path, "resource stop x"), 0);
  ck_assert_int_eq(hp_watch_next(w, 2000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.kinds, HP_RESOURCE);

  /* Someone's listening stream socket is not ours to replace. */
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stream.sock", tmpdir);
  int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
  ck_assert_int_eq(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(listen(sfd, 1), 0);
  cfg.socket_path = sa.sun_path;
  ck_assert_int_eq(hp_watch_new(&cfg, &w2, why, sizeof(why)), -EADDRINUSE);
  close(sfd);

  /* Our file was replaced by someone else's: free leaves theirs alone. */
  ck_assert_int_eq(unlink(sock_path), 0);
  ck_assert_int_eq(pm_file_replace(sock_path, "theirs", 6, 0644), 1);
  hp_watch_free(w);
  ck_assert_int_eq(access(sock_path, F_OK), 0);
}
END_TEST

/* Sends count datagrams, cycling through msg, every_ms apart: from a thread,
 * since a receive queue holds only net.unix.max_dgram_qlen (10) datagrams. */
struct sender {
  const char *path;
  const char *msg[8];
  size_t len[8]; /* 0: strlen(msg) */
  int nmsg, count, every_ms;
  pthread_t thread;
};

static void *sender_main(void *arg) {
  struct sender *s = arg;
  for (int i = 0; i < s->count; i++) {
    int k = i % s->nmsg;
    send_to(s->path, s->msg[k], s->len[k] ? s->len[k] : strlen(s->msg[k]));
    if (s->every_ms)
      usleep((useconds_t)s->every_ms * 1000);
  }
  return NULL;
}

static void sender_start(struct sender *s) {
  ck_assert_int_eq(pthread_create(&s->thread, NULL, sender_main, s), 0);
}

START_TEST(socket_coalesces_and_drops) {
  /* A wide debounce: the sender may be slowed down (valgrind, a busy box). */
  hp_watch_t *w = socket_watch(sock_path, 200, 1000);
  hp_batch_t b;
  ck_assert_int_eq(hp_watch_next(w, 0, &b), HP_NEXT_TIMEOUT);
  uint64_t t0 = pm_now_ns();
  struct sender s = {.path = sock_path,
                     .msg = {"resource start r0\n", "resource start r1",
                             "resource start r2\n", "resource start r3",
                             "volume add /srv/a\nrescan\n"},
                     .nmsg = 5,
                     .count = 25};
  sender_start(&s);
  ck_assert_int_eq(hp_watch_next(w, 5000, &b), HP_NEXT_BATCH);
  pthread_join(s.thread, NULL);
  ck_assert_uint_ge(pm_now_ns() - t0, 200 * MS);
  ck_assert_uint_eq(b.events, 30);
  ck_assert_uint_eq(b.kinds, HP_RESOURCE | HP_VOLUME | HP_RESCAN);
  ck_assert_uint_eq(b.nitems, 6);
  ck_assert_str_eq(b.items[4].name, "/srv/a");
  ck_assert_uint_eq(b.dropped, 0);
  ck_assert_uint_ge(b.last_ns, b.first_ns);
  ck_assert_int_eq(hp_watch_next(w, 100, &b), HP_NEXT_TIMEOUT);

  /* Malformed and oversized: counted, first one described, no events. */
  static char big[100000];
  memset(big, 'r', sizeof(big));
  struct sender bad = {.path = sock_path,
                       .msg = {"resource start 9lives", big, big, ""},
                       .len = {0, sizeof(big), HP_DGRAM_MAX + 1, 0},
                       .nmsg = 4,
                       .count = 4};
  sender_start(&bad);
  pthread_join(bad.thread, NULL);
  ck_assert_int_eq(hp_watch_next(w, 5000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.events, 0);
  ck_assert_uint_eq(b.kinds, 0);
  ck_assert_uint_eq(b.dropped, 4);
  ck_assert_str_eq(b.first_dropped, "bad character in resource name at byte "
                                    "1: \"resource start 9lives\"");
  /* A message of exactly HP_DGRAM_MAX bytes is read whole. */
  memcpy(big, "volume add /", 12);
  memset(big + 12, 'v', HP_DGRAM_MAX - 12);
  ck_assert_int_eq(send_to(sock_path, big, HP_DGRAM_MAX), 0);
  ck_assert_int_eq(hp_watch_next(w, 5000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.dropped, 1);
  ck_assert_ptr_nonnull(strstr(b.first_dropped, "volume path too long"));
  hp_watch_free(w);
}
END_TEST

START_TEST(socket_storm_respects_max_delay) {
  /* A message every 5 ms for 0.6 s never leaves 50 ms of quiet: batches are
   * cut by max_delay (150 ms). */
  hp_watch_t *w = socket_watch(sock_path, 50, 150);
  struct sender s = {.path = sock_path,
                     .msg = {"rescan"},
                     .nmsg = 1,
                     .count = 120,
                     .every_ms = 5};
  sender_start(&s);
  unsigned total = 0, batches = 0;
  hp_batch_t b;
  while (total < (unsigned)s.count) {
    int r = hp_watch_next(w, 5000, &b);
    ck_assert_int_eq(r, HP_NEXT_BATCH);
    batches++;
    total += b.events;
    ck_assert_uint_le(b.last_ns - b.first_ns, 150 * MS);
    ck_assert_uint_eq(b.nitems, 1);
  }
  pthread_join(s.thread, NULL);
  ck_assert_uint_eq(total, s.count);
  ck_assert_uint_ge(batches, 3);
  ck_assert_uint_le(batches, (unsigned)s.count / 3);
  hp_watch_free(w);
}
END_TEST

struct waiter {
  hp_watch_t *w;
  int r;
  uint64_t ns;
};

static void *waiter_main(void *arg) {
  struct waiter *wt = arg;
  hp_batch_t b;
  uint64_t t0 = pm_now_ns();
  wt->r = hp_watch_next(wt->w, -1, &b);
  wt->ns = pm_now_ns() - t0;
  return NULL;
}

START_TEST(wake_unblocks_and_does_not_accumulate) {
  hp_watch_t *w = socket_watch(sock_path, 50, 100);
  struct waiter wt = {.w = w, .r = -1};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &wt), 0);
  usleep(100 * 1000);
  ck_assert_int_eq(hp_watch_wake(w), 0);
  pthread_join(th, NULL);
  ck_assert_int_eq(wt.r, HP_NEXT_WOKEN);
  ck_assert_uint_ge(wt.ns, 90 * MS);
  hp_batch_t b;
  ck_assert_int_eq(hp_watch_wake(w), 0);
  ck_assert_int_eq(hp_watch_wake(w), 0);
  ck_assert_int_eq(hp_watch_next(w, 1000, &b), HP_NEXT_WOKEN);
  ck_assert_int_eq(hp_watch_next(w, 0, &b), HP_NEXT_TIMEOUT);
  /* A pending batch survives a wake-up. */
  ck_assert_int_eq(send_str(sock_path, "rescan"), 0);
  ck_assert_int_eq(hp_watch_next(w, 20, &b), HP_NEXT_TIMEOUT);
  ck_assert_int_eq(hp_watch_wake(w), 0);
  ck_assert_int_eq(hp_watch_next(w, 1000, &b), HP_NEXT_WOKEN);
  ck_assert_int_eq(hp_watch_next(w, 1000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.events, 1);
  hp_watch_free(w);
}
END_TEST

START_TEST(udev_monitor_choice) {
  char control[160];
  snprintf(control, sizeof(control), "%s/control", tmpdir);
  ck_assert_str_eq(hp_udev_monitor_name(control), "kernel");
  ck_assert_int_eq(pm_file_replace(control, "", 0, 0600), 1);
  ck_assert_str_eq(hp_udev_monitor_name(control), "udev");
}
END_TEST

/* ---- real mounts and devices (root) ---- */

/* Runs the rest of the test in private namespaces: nothing leaks. */
static void private_namespaces(int flags) {
  ck_assert_int_eq(unshare(flags), 0);
  if (flags & CLONE_NEWNS)
    ck_assert_int_eq(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
}

START_TEST(mountinfo_changes) {
  private_namespaces(CLONE_NEWNS);
  hp_config_t cfg = {.sources = HP_SRC_MOUNTS, .debounce_ms = 30};
  hp_watch_t *w = NULL;
  ck_assert_int_eq(hp_watch_new(&cfg, &w, NULL, 0), 0);
  hp_batch_t b;
  ck_assert_int_eq(hp_watch_next(w, 100, &b), HP_NEXT_TIMEOUT);
  char mnt[160];
  snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
  ck_assert_int_eq(mkdir(mnt, 0755), 0);
  uint64_t t0 = pm_now_ns();
  ck_assert_int_eq(mount("hp-test", mnt, "tmpfs", 0, "size=1m"), 0);
  ck_assert_int_eq(hp_watch_next(w, 5000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.kinds, HP_MOUNT);
  ck_assert_uint_ge(b.first_ns, t0);
  ck_assert_int_eq(umount(mnt), 0);
  ck_assert_int_eq(hp_watch_next(w, 5000, &b), HP_NEXT_BATCH);
  ck_assert_uint_eq(b.kinds, HP_MOUNT);
  ck_assert_int_eq(hp_watch_next(w, 100, &b), HP_NEXT_TIMEOUT);
  hp_watch_free(w);
}
END_TEST

static int run(const char *cmd) {
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  int st = -1;
  int r = pm_spawn(argv, 10000, NULL, NULL, &st);
  return r < 0 ? r : (WIFEXITED(st) ? WEXITSTATUS(st) : 128);
}

/* Waits for a batch whose summary holds want: block devices that others add
 * on this machine may come in batches of their own. */
static void expect_item(hp_watch_t *w, const char *want) {
  hp_batch_t b;
  char line[1024] = "";
  uint64_t until = pm_now_ns() + 5000 * MS;
  while (!strstr(line, want) && pm_now_ns() < until) {
    if (hp_watch_next(w, 1000, &b) == HP_NEXT_BATCH)
      hp_batch_format(&b, line, sizeof(line));
  }
  ck_assert_msg(strstr(line, want), "no \"%s\" (last: %s)", want, line);
}

START_TEST(udev_net_events) {
  private_namespaces(CLONE_NEWNET);
  hp_config_t cfg = {.sources = HP_SRC_UDEV, .debounce_ms = 30};
  hp_watch_t *w = NULL;
  char why[HP_WHY_MAX] = "";
  ck_assert_int_eq(hp_watch_new(&cfg, &w, why, sizeof(why)), 0);
  ck_assert_str_eq(hp_watch_udev_kind(w),
                   hp_udev_monitor_name("/run/udev/control"));
  ck_assert_int_eq(run("ip link add hpA type veth peer name hpB"), 0);
  expect_item(w, "net add hpA");
  ck_assert_int_eq(run("ip link del hpA"), 0);
  expect_item(w, "net remove hpA");
  hp_watch_free(w);
}
END_TEST

#define N_ELEM(a) (int)(sizeof(a) / sizeof((a)[0]))

/* A test case in a temporary directory, with time for real events. */
static TCase *fixture_tcase(Suite *s, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 30);
  tcase_add_checked_fixture(tc, setup, teardown);
  suite_add_tcase(s, tc);
  return tc;
}

int main(void) {
  Suite *s = suite_create("hotplug");
  TCase *tc = tcase_create("grammar");
  tcase_add_loop_test(tc, parse_table, 0, N_ELEM(parse_cases));
  tcase_add_test(tc, parse_limits);
  tcase_add_test(tc, format_round_trip);
  tcase_add_test(tc, names);
  suite_add_tcase(s, tc);

  tc = tcase_create("coalesce");
  tcase_add_loop_test(tc, coalesce_table, 0, N_ELEM(co_cases));
  tcase_add_test(tc, coalesce_items_and_drops);
  tcase_add_loop_test(tc, datagram_table, 0, N_ELEM(dgram_cases));
  tcase_add_test(tc, batch_format);
  tcase_add_test(tc, drop_reports_are_rate_limited);
  tcase_add_test(tc, coalesce_storm_survives_a_pause);
  tcase_add_loop_test(tc, config_table, 0, N_ELEM(cfg_cases));
  suite_add_tcase(s, tc);

  tc = fixture_tcase(s, "watch");
  tcase_add_test(tc, socket_mode_owner_and_removal);
  tcase_add_test(tc, socket_refuses_bad_paths);
  tcase_add_test(tc, socket_stale_and_live);
  tcase_add_test(tc, socket_coalesces_and_drops);
  tcase_add_test(tc, socket_storm_respects_max_delay);
  tcase_add_test(tc, wake_unblocks_and_does_not_accumulate);
  tcase_add_test(tc, udev_monitor_choice);

  /* Real mounts and netlink events need root; said, not hidden. */
  if (geteuid() == 0) {
    tc = fixture_tcase(s, "root");
    tcase_add_test(tc, mountinfo_changes);
    tcase_add_test(tc, udev_net_events);
  } else {
    printf("SKIP: mountinfo_changes, udev_net_events: need root\n");
  }

  return check_run(s);
}
