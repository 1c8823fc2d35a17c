/* check_expand.h: expanding inline patterns against an inline snapshot, for
 * the unit tests of what entries become (check_collect, check_gmond). */
#ifndef PATMON_T_CHECK_EXPAND_H
#define PATMON_T_CHECK_EXPAND_H

#include "pattern.h"

#include <check.h>
#include <string.h>

static pat_entries_t *expand(const char *patterns, const char *snapshot) {
  pat_set_t *set = NULL;
  pat_inventory_t *inv = NULL;
  pat_entries_t *e = NULL;
  pm_error_t err = {0};
  char buf[1200];
  ck_assert_msg(
      pat_set_parse(patterns, strlen(patterns), "t.conf", &set, &err) == 0,
      "%s", pm_error_str(&err, buf, sizeof(buf)));
  ck_assert_msg(pat_inventory_load_buf(snapshot, strlen(snapshot), "s.json",
                                       &inv, &err) == 0,
                "%s", pm_error_str(&err, buf, sizeof(buf)));
  ck_assert_int_eq(pat_expand(set, inv, NULL, &e), 0);
  pat_inventory_free(inv);
  pat_set_free(set);
  return e;
}

#endif
