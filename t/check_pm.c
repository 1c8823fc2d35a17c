/* Unit tests for common/: buffers, containers, atomic replacement, spawning. */
#include "config.h"

#include "check_run.h"
#include "pm.h"
#include "pm_conf.h"
#include "pm_map.h"
#include "pm_sha256.h"
#include "pm_vec.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/check_pm.XXXXXX";

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(tmpdir)); }

static void teardown(void) {
  char *argv[] = {"rm", "-rf", tmpdir, NULL};
  int st;
  pm_spawn(argv, 5000, NULL, NULL, &st);
  strcpy(tmpdir, "/tmp/check_pm.XXXXXX");
}

START_TEST(buf_grows) {
  pm_buf_t b = {0};
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(pm_buf_printf(&b, "%d,", i), 0);
  ck_assert_uint_eq(b.len, strlen(b.data));
  ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
  pm_buf_free(&b);
  ck_assert_ptr_null(b.data);
  pm_buf_free(NULL);
}
END_TEST

START_TEST(replace_writes_only_on_change) {
  char path[64];
  snprintf(path, sizeof(path), "%s/out", tmpdir);
  ck_assert_int_eq(pm_file_replace(path, "one\n", 4, 0644), 1);
  struct stat st1, st2;
  ck_assert_int_eq(stat(path, &st1), 0);
  ck_assert_int_eq(pm_file_replace(path, "one\n", 4, 0644), 0);
  ck_assert_int_eq(stat(path, &st2), 0);
  ck_assert_uint_eq(st1.st_ino, st2.st_ino);
  ck_assert_int_eq(pm_file_replace(path, "two\n", 4, 0600), 1);
  pm_buf_t b = {0};
  ck_assert_int_eq(pm_file_read(path, 100, &b), 0);
  ck_assert_str_eq(b.data, "two\n");
  ck_assert_int_eq(pm_file_read(path, 2, &b), -EFBIG);
  /* An empty file reads as "", whatever the buffer held or malloc gave. */
  char empty[64];
  snprintf(empty, sizeof(empty), "%s/empty", tmpdir);
  ck_assert_int_eq(pm_file_replace(empty, "", 0, 0644), 1);
  pm_buf_t e = {0};
  ck_assert_int_eq(pm_file_read(empty, 100, &e), 0);
  ck_assert_ptr_nonnull(e.data);
  ck_assert_str_eq(e.data, "");
  pm_buf_free(&e);
  pm_buf_free(&b);
  /* A symlink stays a symlink; its target gets the content. */
  char link[64];
  snprintf(link, sizeof(link), "%s/link", tmpdir);
  ck_assert_int_eq(symlink(path, link), 0);
  ck_assert_int_eq(pm_file_replace(link, "three\n", 6, 0644), 1);
  struct stat lst;
  ck_assert_int_eq(lstat(link, &lst), 0);
  ck_assert(S_ISLNK(lst.st_mode));
  ck_assert_int_eq(pm_file_read(path, 100, &b), 0);
  ck_assert_str_eq(b.data, "three\n");
  /* A device is written to, never replaced by a regular file. */
  ck_assert_int_eq(pm_file_replace("/dev/null", "x", 1, 0644), 1);
  ck_assert_int_eq(stat("/dev/null", &lst), 0);
  ck_assert(S_ISCHR(lst.st_mode));
  pm_buf_free(&b);
  /* A directory that does not exist: error, nothing written. */
  ck_assert_int_eq(pm_file_replace("/nonexistent/dir/x", "a", 1, 0644),
                   -ENOENT);
}
END_TEST

START_TEST(spawn_captures_and_times_out) {
  pm_buf_t out = {0}, err = {0};
  int st = -1;
  char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
  ck_assert_int_eq(pm_spawn(argv, 5000, &out, &err, &st), 0);
  ck_assert_str_eq(out.data, "out\n");
  ck_assert_str_eq(err.data, "err\n");
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
  char *slow[] = {"sleep", "10", NULL};
  ck_assert_int_eq(pm_spawn(slow, 100, NULL, NULL, &st), -ETIMEDOUT);
  char *none[] = {"/nonexistent/program", NULL};
  ck_assert_int_eq(pm_spawn(none, 100, NULL, NULL, &st), -ENOENT);
  /* Past 16 MiB the output is cut: an error, never half a reply taken
   * for the whole (the rest is read, so the child is not blocked). */
  char *big[] = {"head", "-c", "17000000", "/dev/zero", NULL};
  st = -1;
  ck_assert_int_eq(pm_spawn(big, 20000, &out, NULL, &st), -EFBIG);
  ck_assert_uint_le(out.len, 16u << 20);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  char *fits[] = {"head", "-c", "1000000", "/dev/zero", NULL};
  pm_buf_reset(&out);
  ck_assert_int_eq(pm_spawn(fits, 20000, &out, NULL, &st), 0);
  ck_assert_uint_eq(out.len, 1000000);
  pm_buf_free(&out);
  pm_buf_free(&err);
}
END_TEST

/* Inside a host that ignores SIGCHLD (collectd does), the kernel reaps an
 * ordinary child at once and its exit status is lost: a failing command
 * must still read as failed, with what it wrote, and a signal the host
 * ignores must not be ignored by the child. */
START_TEST(spawn_status_survives_an_ignored_sigchld) {
  struct sigaction ign = {.sa_handler = SIG_IGN}, old, oldpipe;
  ck_assert_int_eq(sigaction(SIGCHLD, &ign, &old), 0);
  ck_assert_int_eq(sigaction(SIGPIPE, &ign, &oldpipe), 0);
  pm_buf_t out = {0};
  int st = -1;
  char *argv[] = {"sh", "-c", "echo failed; exit 3", NULL};
  int r = pm_spawn(argv, 5000, &out, NULL, &st);
  char *pipe_kill[] = {"sh", "-c", "kill -PIPE $$; exit 0", NULL};
  int st2 = -1, r2 = pm_spawn(pipe_kill, 5000, NULL, NULL, &st2);
  sigaction(SIGCHLD, &old, NULL);
  sigaction(SIGPIPE, &oldpipe, NULL);
  ck_assert_int_eq(r, 0);
  ck_assert_str_eq(out.data, "failed\n");
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
  ck_assert_int_eq(r2, 0);
  ck_assert(WIFSIGNALED(st2) && WTERMSIG(st2) == SIGPIPE);
  pm_buf_free(&out);
}
END_TEST

/* What goes to a log has no control character in it. */
START_TEST(error_text_is_printable) {
  pm_error_t e;
  char buf[256];
  pm_error_set(&e, "f.xml", 3, "<node name=\"x\x1b[2J\x07\">", "bad\rname");
  ck_assert_str_eq(pm_error_str(&e, buf, sizeof(buf)),
                   "f.xml:3: bad?name: '<node name=\"x?[2J?\">'");
  char s[] = "a\tb\x7f\n";
  ck_assert_str_eq(pm_printable(s), "a?b??");
}
END_TEST

static void write_file(const char *name, const char *text) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static cfg_opt_t sec_opts[] = {CFG_STR("class", NULL, CFGF_NODEFAULT),
                               CFG_STR_LIST("match", NULL, CFGF_NONE),
                               CFG_END()};
static cfg_opt_t top_opts[] = {
    CFG_SEC("pattern", sec_opts, CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
    CFG_END()};

static int load(const char *name, pm_conf_t **ret, pm_error_t *err) {
  char path[128];
  snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
  return pm_conf_load(path, top_opts, CFGF_NONE, ret, err);
}

START_TEST(conf_lines_survive_comments) {
  /* libconfuse alone reports line 8 here: it counts comment lines twice. */
  write_file("a.conf", "# one\n// two\npattern \"a\" { # x\n"
                       "  class = \"has # and // inside\"\n"
                       "  /* block\n     comment */\n  bogus = 1\n}\n");
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(load("a.conf", &c, &err), -EBADMSG);
  ck_assert_ptr_null(c);
  ck_assert_uint_eq(err.line, 7);
  ck_assert_ptr_nonnull(strstr(err.file, "a.conf"));
  ck_assert_ptr_nonnull(strstr(err.msg, "bogus"));
  ck_assert_str_eq(err.text, "bogus = 1");
}
END_TEST

START_TEST(conf_includes_relative_and_mapped) {
  char sub[128];
  snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  write_file("main.conf",
             "pattern \"a\" { class = disk }\n"
             "include \"sub/b.conf\"\n"
             "  include(\"sub/none*.conf\")\n"
             "pattern \"c\" {\n class = nic\n match = {\"x\",\n  \"y\"}\n}\n");
  write_file("sub/b.conf",
             "# b\npattern \"b\" {\n  class = \"# not a comment\"\n}\n");
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(load("main.conf", &c, &err), 0);
  cfg_t *cfg = pm_conf_cfg(c);
  ck_assert_uint_eq(cfg_size(cfg, "pattern"), 3);
  ck_assert_str_eq(cfg_getstr(cfg_getnsec(cfg, "pattern", 1), "class"),
                   "# not a comment");
  const char *file;
  unsigned line;
  pm_conf_section_pos(c, "pattern", "b", &file, &line);
  ck_assert_ptr_nonnull(strstr(file, "sub/b.conf"));
  ck_assert_uint_eq(line, 2);
  pm_conf_locate(c, "pattern", "c", "\"y\"", &file, &line);
  ck_assert_ptr_nonnull(strstr(file, "main.conf"));
  ck_assert_uint_eq(line, 7);
  pm_conf_free(c);

  /* An error inside the included file names that file and its line. */
  write_file("sub/b.conf", "pattern \"b\" {\n\n  klass = nic\n}\n");
  ck_assert_int_eq(load("main.conf", &c, &err), -EBADMSG);
  ck_assert_ptr_nonnull(strstr(err.file, "sub/b.conf"));
  ck_assert_uint_eq(err.line, 3);
}
END_TEST

START_TEST(conf_include_errors) {
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  write_file("loop.conf", "\ninclude \"loop.conf\"\n");
  ck_assert_int_eq(load("loop.conf", &c, &err), -ELOOP);
  write_file("missing.conf",
             "pattern \"a\" { class = disk }\ninclude \"nope.conf\"\n");
  ck_assert_int_eq(load("missing.conf", &c, &err), -ENOENT);
  ck_assert_uint_eq(err.line, 2);
  ck_assert_str_eq(err.text, "nope.conf");
  write_file("bad.conf", "include \"x.conf\" trailing\n");
  ck_assert_int_eq(load("bad.conf", &c, &err), -EBADMSG);
  ck_assert_uint_eq(err.line, 1);
  ck_assert_int_eq(load("does-not-exist.conf", &c, &err), -ENOENT);
  ck_assert_ptr_null(c);
  char buf[600];
  ck_assert_ptr_nonnull(strstr(pm_error_str(&err, buf, sizeof(buf)),
                               "does-not-exist.conf: cannot read"));
}
END_TEST

/* Opens the FIFO for writing once a reader waits in open(): without
 * O_NONBLOCK in pm_file_read that reader would otherwise hang the test. */
static bool fifo_read_done;

static void *unblock_fifo(void *arg) {
  const char *path = arg;
  for (int i = 0; i < 40 && !__atomic_load_n(&fifo_read_done, __ATOMIC_ACQUIRE);
       i++) {
    usleep(50000);
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      return (void *)1;
    }
  }
  return NULL;
}

START_TEST(read_refuses_what_is_not_a_file) {
  char fifo[128];
  snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
  ck_assert_int_eq(mkfifo(fifo, 0600), 0);
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, unblock_fifo, fifo), 0);
  pm_buf_t b = {0};
  uint64_t t0 = pm_now_ns();
  int r = pm_file_read(fifo, 100, &b);
  uint64_t ms = (pm_now_ns() - t0) / 1000000;
  __atomic_store_n(&fifo_read_done, true, __ATOMIC_RELEASE);
  void *unblocked;
  pthread_join(t, &unblocked);
  ck_assert_int_eq(r, -PM_ENOTREG);
  ck_assert_str_eq(pm_strerror(r), "not a regular file");
  /* Refused at once, not after the helper opened the other end. */
  ck_assert_msg(ms < 2000 || !unblocked, "blocked %llu ms in open",
                (unsigned long long)ms);
  ck_assert_int_eq(pm_file_read(tmpdir, 100, &b), -PM_ENOTREG);
  ck_assert_int_eq(pm_file_read("/dev/null", 100, &b), -PM_ENOTREG);
  ck_assert_str_eq(pm_strerror(-ENOENT), strerror(ENOENT));
  pm_buf_free(&b);

  /* The same for a pattern file or one it includes. */
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(pm_conf_load(fifo, top_opts, CFGF_NONE, &c, &err),
                   -PM_ENOTREG);
  ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
  char text[256];
  snprintf(text, sizeof(text), "\ninclude \"%s\"\n", fifo);
  write_file("fifo.conf", text);
  ck_assert_int_eq(load("fifo.conf", &c, &err), -PM_ENOTREG);
  ck_assert_uint_eq(err.line, 2);
  ck_assert_ptr_nonnull(strstr(err.msg, "not a regular file"));
  ck_assert_ptr_null(c);
}
END_TEST

START_TEST(conf_unclosed_comment) {
  write_file("c.conf", "pattern \"a\" { class = disk }\n"
                       "/* the rest is\n  commented out\n"
                       "pattern \"b\" { class = nic }\n");
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(load("c.conf", &c, &err), -EBADMSG);
  ck_assert_ptr_null(c);
  ck_assert_uint_eq(err.line, 2);
  ck_assert_ptr_nonnull(strstr(err.msg, "'/*' is never closed"));
  ck_assert_str_eq(err.text, "/* the rest is");
  /* Closed on the last line: fine, and the line count goes on. */
  write_file("c.conf", "/* a\n b */ pattern \"a\" {\n bogus = 1 }\n");
  ck_assert_int_eq(load("c.conf", &c, &err), -EBADMSG);
  ck_assert_uint_eq(err.line, 3);
}
END_TEST

/* Titled sections reach libconfuse without their titles (its duplicate
 * search is quadratic): titles, lookups by title, duplicates and positions
 * must all be as if they had. */
START_TEST(conf_titles_are_restored) {
  write_file("t.conf", "pattern \"a\" { class = disk }\n"
                       "pattern b {\n  class = nic\n  match = {\"y\"}\n}\n"
                       "pattern 'c d' { class = mount }\n");
  pm_conf_t *c = NULL;
  pm_error_t err = {0};
  ck_assert_int_eq(load("t.conf", &c, &err), 0);
  cfg_t *cfg = pm_conf_cfg(c);
  ck_assert_uint_eq(cfg_size(cfg, "pattern"), 3);
  ck_assert_str_eq(cfg_title(cfg_getnsec(cfg, "pattern", 0)), "a");
  ck_assert_str_eq(cfg_title(cfg_getnsec(cfg, "pattern", 1)), "b");
  ck_assert_str_eq(cfg_title(cfg_getnsec(cfg, "pattern", 2)), "c d");
  cfg_t *b = cfg_gettsec(cfg, "pattern", "b");
  ck_assert_ptr_nonnull(b);
  ck_assert_str_eq(cfg_getstr(b, "class"), "nic");
  const char *file;
  unsigned line;
  pm_conf_locate(c, "pattern", "b", "\"y\"", &file, &line);
  ck_assert_uint_eq(line, 4);
  /* A needle not in its section is not taken from the next one. */
  pm_conf_locate(c, "pattern", "a", "mount", &file, &line);
  ck_assert_uint_eq(line, 1);
  pm_conf_section_pos(c, "pattern", "c d", &file, &line);
  ck_assert_uint_eq(line, 6);
  pm_conf_free(c);

  write_file("t.conf", "pattern \"a\" { class = disk }\n\n"
                       "pattern \"a\" { class = nic }\n");
  ck_assert_int_eq(load("t.conf", &c, &err), -EBADMSG);
  ck_assert_uint_eq(err.line, 3);
  ck_assert_ptr_nonnull(strstr(err.msg, "duplicate title 'a'"));
  /* An escaped title goes to libconfuse as written, and is unescaped. */
  write_file("t.conf", "pattern \"a\\\"q\" { class = disk }\n");
  ck_assert_int_eq(load("t.conf", &c, &err), 0);
  ck_assert_str_eq(cfg_title(cfg_getnsec(pm_conf_cfg(c), "pattern", 0)),
                   "a\"q");
  pm_conf_free(c);
}
END_TEST

/* libconfuse's lexer is global; parsing and freeing from two threads at
 * once must be safe (run under ASan and valgrind in CI). */
static void *parse_many(void *arg) {
  const char *text =
      "pattern \"a\" {\n  class = \"disk\"\n  match = {\"x\"}\n}\n";
  for (int i = 0; i < 3000; i++) {
    pm_conf_t *c = NULL;
    pm_error_t err;
    if (pm_conf_load_buf(text, strlen(text), "t.conf", top_opts, CFGF_NONE, &c,
                         &err) != 0)
      return (void *)1;
    pm_conf_free(c);
  }
  return arg;
}

START_TEST(conf_parse_from_two_threads) {
  pthread_t a, b;
  void *ra, *rb;
  ck_assert_int_eq(pthread_create(&a, NULL, parse_many, NULL), 0);
  ck_assert_int_eq(pthread_create(&b, NULL, parse_many, NULL), 0);
  pthread_join(a, &ra);
  pthread_join(b, &rb);
  ck_assert_ptr_null(ra);
  ck_assert_ptr_null(rb);
}
END_TEST

START_TEST(strv_push_keeps_null_end) {
  char **list = NULL;
  size_t n = 0;
  const char *words[] = {"node1", "", "node3"};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(pm_strv_push(&list, &n, words[i]), 0);
    ck_assert_uint_eq(n, i + 1);
    ck_assert_ptr_null(list[n]);
  }
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_eq(list[i], words[i]);
    ck_assert_ptr_ne(list[i], words[i]); /* copies */
    free(list[i]);
  }
  free(list);
}
END_TEST

START_TEST(vec_grows_keeps_and_zeroes) {
  PM_VEC(struct {
    int a;
    char b[5];
  })
  v = {0};
  for (int i = 0; i < 1000; i++) {
    __typeof__(v.v) e = pm_vec_push(&v);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(e->a, 0);
    ck_assert_str_eq(e->b, "");
    e->a = i;
  }
  ck_assert_uint_eq(v.n, 1000);
  ck_assert_uint_ge(v.cap, 1000);
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(v.v[i].a, i);
  size_t cap = v.cap;
  ck_assert_int_eq(pm_vec_reserve(&v, cap - v.n), 0);
  ck_assert_uint_eq(v.cap, cap);
  ck_assert_int_eq(pm_vec_reserve(&v, cap), 0);
  ck_assert_uint_ge(v.cap, cap + 1000);
  ck_assert_uint_eq(v.n, 1000);
  /* An impossible size fails and leaves the vector as it was. */
  int *before = (int *)v.v;
  ck_assert_int_eq(pm_vec_reserve(&v, SIZE_MAX / 2), -ENOMEM);
  ck_assert_ptr_eq((int *)v.v, before);
  ck_assert_uint_eq(v.n, 1000);
  ck_assert_int_eq(v.v[999].a, 999);
  pm_vec_free(&v);
  ck_assert_ptr_null(v.v);
  ck_assert_uint_eq(v.n + v.cap, 0);
  pm_vec_free((__typeof__(v) *)NULL);
}
END_TEST

static void free_int(void *p) { free(p); }

START_TEST(map_sets_gets_deletes) {
  pm_map_t m = {0};
  char key[32];
  ck_assert_ptr_null(pm_map_get(&m, "none"));
  ck_assert_ptr_null(pm_map_del(&m, "none"));
  ck_assert(!pm_map_has(&m, "none"));
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    int *v = malloc(sizeof(*v));
    ck_assert_ptr_nonnull(v);
    *v = i;
    ck_assert_int_eq(pm_map_set(&m, key, v), 1);
  }
  ck_assert_uint_eq(m.n, 5000);
  /* The map keeps its own copy of the key. */
  snprintf(key, sizeof(key), "k%d", 77);
  const char *own;
  int *v77 = pm_map_get(&m, key);
  ck_assert_int_eq(pm_map_setn(&m, "k77 and more", 3, v77, &own), 0);
  ck_assert_str_eq(own, "k77");
  ck_assert_ptr_ne(own, key);
  ck_assert_ptr_eq(pm_map_getn(&m, "k77 and more", 3), v77);
  ck_assert_ptr_null(pm_map_getn(&m, "k77 and more", 4));
  ck_assert_ptr_ne(pm_map_getn(&m, "k77 and more", 2), v77);
  /* Delete every third key; the others must all still be found (backward
   * shift keeps probe runs whole). */
  for (int i = 0; i < 5000; i += 3) {
    snprintf(key, sizeof(key), "k%d", i);
    int *v = pm_map_del(&m, key);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(*v, i);
    free(v);
    ck_assert_ptr_null(pm_map_del(&m, key));
  }
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "k%d", i);
    int *v = pm_map_get(&m, key);
    if (i % 3 == 0) {
      ck_assert_ptr_null(v);
      ck_assert(!pm_map_has(&m, key));
    } else {
      ck_assert_ptr_nonnull(v);
      ck_assert_int_eq(*v, i);
    }
  }
  /* Iteration sees each remaining entry once. */
  size_t it = 0, seen = 0;
  long sum = 0, want = 0;
  const char *k;
  void *val;
  while (pm_map_next(&m, &it, &k, &val)) {
    ck_assert_int_eq(atoi(k + 1), *(int *)val);
    sum += *(int *)val;
    seen++;
  }
  for (int i = 0; i < 5000; i++)
    if (i % 3)
      want += i;
  ck_assert_uint_eq(seen, m.n);
  ck_assert_int_eq(sum, want);
  /* A NULL value is stored, and told apart from absence by pm_map_has. */
  ck_assert_int_eq(pm_map_set(&m, "null", NULL), 1);
  ck_assert(pm_map_has(&m, "null"));
  ck_assert_ptr_null(pm_map_del(&m, "null"));
  ck_assert(!pm_map_has(&m, "null"));
  pm_map_clear(&m, free_int);
  ck_assert_uint_eq(m.n, 0);
  ck_assert_ptr_null(pm_map_get(&m, "k1"));
  ck_assert_int_eq(pm_map_set(&m, "again", NULL), 1);
  pm_map_free(&m, free_int);
  ck_assert_ptr_null(m.slots);
  pm_map_free(NULL, NULL);
}
END_TEST

/* FIPS 180-4's examples (NIST's "SHA256.pdf": "abc" and the 448-bit
 * message) and the empty string, at once and fed in pieces that cross the
 * 64-byte blocks and the 56-byte padding limit; a million 'a' (FIPS
 * 180-2's third example). */
/* All of a send arrives; a peer that has gone is -EPIPE, not SIGPIPE. */
START_TEST(send_all_without_sigpipe) {
  int sv[2];
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  char out[100000], in[sizeof(out)];
  for (size_t i = 0; i < sizeof(out); i++)
    out[i] = (char)(i * 7);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* the reader */
    close(sv[0]);
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(in) &&
           (n = read(sv[1], in + got, sizeof(in) - got)) > 0)
      got += (size_t)n;
    _exit(got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0 ? 0 : 1);
  }
  close(sv[1]);
  ck_assert_int_eq(pm_send_all(sv[0], out, sizeof(out)), 0);
  int st;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  ck_assert_int_eq(pm_send_all(sv[0], out, 10), -EPIPE);
  close(sv[0]);
}
END_TEST

START_TEST(sha256_known_digests) {
  static const struct {
    const char *in, *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  char hex[PM_SHA256_HEX + 1];
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    pm_sha256_hex(v[i].in, strlen(v[i].in), hex);
    ck_assert_str_eq(hex, v[i].hex);
  }
  /* 56 bytes need a second padding block; fed 1, 2, ... bytes at a time. */
  pm_sha256_t s;
  uint8_t d[PM_SHA256_LEN];
  const char *m = v[2].in;
  pm_sha256_init(&s);
  for (size_t at = 0, k = 1; at < strlen(m); at += k, k++)
    pm_sha256_update(&s, m + at, at + k > strlen(m) ? strlen(m) - at : k);
  pm_sha256_final(&s, d);
  ck_assert_uint_eq(d[0], 0x24);
  ck_assert_uint_eq(d[1], 0x8d);
  ck_assert_uint_eq(d[31], 0xc1);
  static char a[1000000];
  memset(a, 'a', sizeof(a));
  pm_sha256_hex(a, sizeof(a), hex);
  ck_assert_str_eq(
      hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

int main(void) {
  Suite *s = suite_create("pm");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  /* Generous: two threads taking turns on libconfuse's lock under ASan or
   * valgrind on a busy machine took 6.5 s (1 s of CPU). */
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, buf_grows);
  tcase_add_test(tc, send_all_without_sigpipe);
  tcase_add_test(tc, sha256_known_digests);
  tcase_add_test(tc, vec_grows_keeps_and_zeroes);
  tcase_add_test(tc, strv_push_keeps_null_end);
  tcase_add_test(tc, map_sets_gets_deletes);
  tcase_add_test(tc, replace_writes_only_on_change);
  tcase_add_test(tc, spawn_captures_and_times_out);
  tcase_add_test(tc, spawn_status_survives_an_ignored_sigchld);
  tcase_add_test(tc, conf_lines_survive_comments);
  tcase_add_test(tc, conf_includes_relative_and_mapped);
  tcase_add_test(tc, conf_include_errors);
  tcase_add_test(tc, conf_parse_from_two_threads);
  tcase_add_test(tc, read_refuses_what_is_not_a_file);
  tcase_add_test(tc, error_text_is_printable);
  tcase_add_test(tc, conf_unclosed_comment);
  tcase_add_test(tc, conf_titles_are_restored);
  suite_add_tcase(s, tc);
  return check_run(s);
}
