/* json.h: the snapshot reader's pull parser (internal to pattern/).
 *
 * Usage: pat_json_expect(j, '{'); then while (pat_json_member(j, &first,
 * &key) > 0) read or pat_json_skip() the value; likewise
 * pat_json_expect(j, '[') and pat_json_element(). Every function returns 0
 * (or 1 for "another member/element follows") or -EBADMSG, having filled
 * the error with the line and the text where it stopped. Strings are
 * decoded in place: the buffer must be writable, end with a NUL at end[0],
 * and outlive the values. */
#ifndef PATMON_PATTERN_JSON_H
#define PATMON_PATTERN_JSON_H

#include "pm.h"

#include <stdbool.h>
#include <stddef.h>

struct pat_json {
  char *p, *start, *end;
  const char *name;
  pm_error_t *err;
  bool failed;
};

void pat_json_init(struct pat_json *j, char *buf, size_t len, const char *name,
                   pm_error_t *err);
/* The next non-space character, or -1 at the end. */
int pat_json_peek(struct pat_json *j);
int pat_json_expect(struct pat_json *j, char c);
int pat_json_string(struct pat_json *j, char **ret);
int pat_json_int(struct pat_json *j, long *ret);
int pat_json_skip(struct pat_json *j);
/* After '{': 1 with *ret_key set and ':' consumed, 0 after '}'. */
int pat_json_member(struct pat_json *j, bool *first, char **ret_key);
/* After '[': 1 when an element follows, 0 after ']'. */
int pat_json_element(struct pat_json *j, bool *first);
/* Records an error at the current position; returns -EBADMSG. */
int pat_json_fail(struct pat_json *j, const char *what);
/* 0 when only white space is left. */
int pat_json_end(struct pat_json *j);

#endif
