/* check_run.h: what every unit test's main() ends with: run the suite,
 * exit non-zero when a check failed. */
#ifndef PATMON_T_CHECK_RUN_H
#define PATMON_T_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

static inline int check_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
