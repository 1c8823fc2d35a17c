/* cdsock.h: collectd's unixsock for benchmark helpers. */
#ifndef PATMON_BENCH_CDSOCK_H
#define PATMON_BENCH_CDSOCK_H

#include "pm.h"

/* Sends LISTVAL and appends the answer's "TIME IDENTIFIER" lines (the
 * count line removed) to out. 0 or a negative errno. */
int cd_listval(const char *sock, pm_buf_t *out);

#endif
