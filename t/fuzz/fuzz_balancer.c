/* fuzz_balancer: the balancer's parsers on arbitrary input. The first byte
 * picks one: 0 the configuration (libconfuse through pm_conf, then the
 * balancer's own checks), 1 crm_mon XML (with a small valid CIB), 2 a CIB
 * (with a small valid crm_mon document), 3 the zone records of a CIB or
 * its crm_config, 4 an RRD file (the pread reader of a window: what it
 * leaves to librrd is librrd's). Nothing may crash or leak. */
#include "config.h"

#include "internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char mon[] =
    "<pacemaker-result><nodes><node name=\"n1\" online=\"true\"/>"
    "<node name=\"n2\" online=\"true\"/></nodes><resources>"
    "<resource id=\"a\" active=\"true\" managed=\"true\">"
    "<node name=\"n1\"/></resource><group id=\"g\"><resource id=\"g1\" "
    "active=\"true\"><node name=\"n2\"/></resource></group>"
    "</resources></pacemaker-result>";
static const char cib[] = "<cib><configuration><crm_config/><nodes/>"
                          "<resources/><constraints/></configuration></cib>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  pm_error_t err = {0};
  switch (data[0] % 5) {
  case 0: {
    struct bal_conf *c = NULL;
    /* pm_conf wants text without NUL bytes; it says so itself. */
    if (bal_conf_load_buf(text, len, "fuzz.conf", &c, &err) == 0)
      bal_conf_free(c);
    break;
  }
  case 1:
  case 2: {
    struct bal_pcmk *p = NULL;
    int r = data[0] % 5 == 1
                ? bal_pcmk_parse(text, len, "mon", cib, sizeof(cib) - 1, "cib",
                                 1767225600, &p, &err)
                : bal_pcmk_parse(mon, sizeof(mon) - 1, "mon", text, len, "cib",
                                 1767225600, &p, &err);
    if (r == 0)
      bal_pcmk_free(p);
    break;
  }
  case 3: {
    struct bal_zrecs z;
    bal_zrec_parse(text, len, "crm_config", &z, &err);
    bal_zrecs_free(&z);
    break;
  }
  case 4: {
    int fd = memfd_create("fuzz.rrd", MFD_CLOEXEC);
    if (fd < 0)
      break;
    if (write(fd, text, len) == (ssize_t)len) {
      char path[64], why[128];
      snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
      /* The corpus file's last update is 1700000003: a window up to it,
       * one partly past it, one long before it. */
      static const time_t ends[] = {1700000000, 1700003600, 1600000000};
      for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        struct bal_rrd_rows f;
        bal_rrd_fetch(path, ends[i] - 7200, ends[i], 1, &f, why, sizeof(why));
        bal_rrd_rows_free(&f);
      }
    }
    close(fd);
    break;
  }
  }
  return 0;
}
