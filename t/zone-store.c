/* zone-store: the balancer's zone record store (balancer/pcmk-zone.c) from
 * the command line, for the live tests: the same code the daemon runs,
 * against the cluster (or CIB_file).
 *
 *   zone-store read
 *   zone-store set|create KEY VALUE
 *   zone-store delete KEY
 *
 * read prints "KEY VALUE" per record in the CIB's order. Exit status 0 on
 * success, 3 when create finds the key (EEXIST: another decided first), 1
 * on another error (said on stderr), 2 on bad arguments. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    enum bal_zrec_op op;
    int nargs;
  } ops[] = {{"set", BAL_ZREC_SET, 4},
             {"create", BAL_ZREC_CREATE, 4},
             {"delete", BAL_ZREC_DELETE, 3}};
  const int ms = 60000;
  if (argc == 2 && strcmp(argv[1], "read") == 0) {
    struct bal_zrecs z;
    pm_error_t err = {0};
    char buf[1024];
    int r = bal_zrec_read("cibadmin", ms, &z, &err);
    for (size_t i = 0; r == 0 && i < z.n; i++)
      printf("%s %s\n", z.v[i].key, z.v[i].value);
    if (r == 0 && z.nbad)
      fprintf(stderr, "zone-store: %u skipped, first: %s\n", z.nbad,
              pm_error_str(&z.bad, buf, sizeof(buf)));
    if (r < 0)
      fprintf(stderr, "zone-store: %s\n", pm_error_str(&err, buf, sizeof(buf)));
    bal_zrecs_free(&z);
    return r < 0 ? 1 : 0;
  }
  for (size_t i = 0; argc > 1 && i < sizeof(ops) / sizeof(ops[0]); i++) {
    if (strcmp(argv[1], ops[i].name) != 0 || argc != ops[i].nargs)
      continue;
    pm_buf_t why = {0};
    int r = bal_zrec_write("cibadmin", ms, ops[i].op, argv[2],
                           argc > 3 ? argv[3] : NULL, &why);
    if (r < 0 && r != -EEXIST)
      fprintf(stderr, "zone-store: %s %s: %s\n", argv[1], argv[2],
              why.data ? why.data : strerror(-r));
    pm_buf_free(&why);
    return r == 0 ? 0 : r == -EEXIST ? 3 : 1;
  }
  fprintf(stderr, "usage: zone-store read | set|create KEY VALUE | delete "
                  "KEY\n");
  return 2;
}
