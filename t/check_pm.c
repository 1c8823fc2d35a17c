/* Unit tests for common/: buffers, atomic replacement, spawning. */
#include "config.h"

#include "pm.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

START_TEST(buf_grows_and_escapes) {
  pm_buf_t b = {0};
  for (int i = 0; i < 1000; i++)
    ck_assert_int_eq(pm_buf_printf(&b, "%d,", i), 0);
  ck_assert_uint_eq(b.len, strlen(b.data));
  ck_assert(strncmp(b.data, "0,1,2,", 6) == 0);
  pm_buf_reset(&b);
  ck_assert_int_eq(pm_buf_json_str(&b, "a\"b\\c\n\x01"), 0);
  ck_assert_str_eq(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
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
  pm_buf_free(&out);
  pm_buf_free(&err);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pm");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, buf_grows_and_escapes);
  tcase_add_test(tc, replace_writes_only_on_change);
  tcase_add_test(tc, spawn_captures_and_times_out);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
