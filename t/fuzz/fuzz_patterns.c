/* libFuzzer harness for the pattern-file parser (pm_conf + libconfuse +
 * conditions and templates), then expansion in every format against a small
 * fixed inventory, so matching and names see the fuzzed patterns too.
 *
 * Includes: relative ones resolve next to "fuzz.conf" in a directory that
 * does not exist; absolute ones may name anything in INC_DIR, a fixture made
 * at start with a pattern file, a FIFO, a directory, a symlink to /dev/null,
 * a file that includes itself and one that includes the FIFO. Inputs naming
 * another absolute path (or "..") next to an include are skipped: they
 * would walk the real file system.
 * Run: see README ("Fuzzing"). */
#include "config.h"

#include "pattern.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pat_inventory_t *inv;

static const char snapshot[] =
    "{\"patmon_snapshot\": 1, \"classes\": [\"disk\", \"partition\", \"nic\", "
    "\"mount\", \"process\", \"unit\", \"resource\"], \"objects\": ["
    "{\"class\": \"disk\", \"name\": \"sda\", \"object\": \"/dev/sda\", "
    " \"props\": {\"KERNEL\": \"sda\", \"ENV{ID_BUS}\": \"scsi\", "
    "\"ENV{ID_SERIAL}\": \"WD 123\", \"ATTR{size}\": \"100\"},"
    " \"parents\": [{\"ATTR{vendor}\": \"ATA\"}, {\"ATTR{model}\": \"X\"}]},"
    "{\"class\": \"partition\", \"name\": \"sda1\", \"props\": {\"KERNEL\": "
    "\"sda1\"}},"
    "{\"class\": \"nic\", \"name\": \"eth0\", \"props\": {\"NAME\": \"eth0\", "
    "\"ATTR{operstate}\": \"up\"}},"
    "{\"class\": \"mount\", \"name\": \"srv\", \"object\": \"/srv\", "
    "\"props\": {\"MOUNT\": \"/srv\", \"FSTYPE\": \"xfs\"}},"
    "{\"class\": \"process\", \"name\": \"nginx\", \"object\": \"5\", \"pid\": "
    "5,"
    " \"props\": {\"COMM\": \"nginx\", \"CMDLINE\": \"nginx: master\"}},"
    "{\"class\": \"process\", \"name\": \"nginx\", \"object\": \"6\", \"pid\": "
    "6,"
    " \"props\": {\"COMM\": \"nginx\", \"CMDLINE\": \"nginx: worker\"}},"
    "{\"class\": \"unit\", \"name\": \"a.service\", \"props\": {\"UNIT\": "
    "\"a.service\", \"STATE\": \"active\", \"CGROUP\": "
    "\"/system.slice/a.service\"}},"
    "{\"class\": \"resource\", \"name\": \"fs\", \"props\": {\"RSC\": \"fs\", "
    "\"AGENT\": \"ocf:heartbeat:Filesystem\", \"PARAM{directory}\": "
    "\"/srv\"}}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INC_DIR "/tmp/patmon-fuzz-inc"

static void fixture_file(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", INC_DIR, name);
  FILE *f = fopen(path, "w");
  if (!f)
    abort();
  fputs(text, f);
  fclose(f);
}

static void make_fixture(void) {
  if ((mkdir(INC_DIR, 0755) < 0 && errno != EEXIST) ||
      (mkdir(INC_DIR "/dir", 0755) < 0 && errno != EEXIST) ||
      (mkfifo(INC_DIR "/fifo", 0600) < 0 && errno != EEXIST) ||
      (symlink("/dev/null", INC_DIR "/null") < 0 && errno != EEXIST))
    abort();
  fixture_file("ok.conf", "pattern \"inc\" {\n  class = nic\n  match = { "
                          "\"KERNEL==eth*\" }\n}\n");
  fixture_file("self.conf", "include \"" INC_DIR "/self.conf\"\n");
  fixture_file("via-fifo.conf", "node = \"n\"\ninclude \"fifo\"\n");
  fixture_file("dir/sub.conf", "/* unclosed\npattern \"x\" { class = disk }\n");
}

/* Whether every quoted absolute path in data lies in INC_DIR, when data
 * has an include at all. */
static bool includes_stay_in_fixture(const uint8_t *data, size_t size) {
  if (!memmem(data, size, "include", 7))
    return true;
  if (memmem(data, size, "..", 2))
    return false;
  const size_t dl = strlen(INC_DIR "/");
  for (size_t i = 1; i < size; i++)
    if (data[i] == '/' && (data[i - 1] == '"' || data[i - 1] == '\'') &&
        (size - i < dl || memcmp(data + i, INC_DIR "/", dl) != 0))
      return false;
  return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  pm_error_t err;
  make_fixture();
  if (pat_inventory_load_buf(snapshot, strlen(snapshot), "fuzz.json", &inv,
                             &err) < 0)
    abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!includes_stay_in_fixture(data, size))
    return 0;
  pat_set_t *set = NULL;
  pm_error_t err;
  if (pat_set_parse((const char *)data, size, "/nonexistent-fuzz/fuzz.conf",
                    &set, &err) < 0) {
    char buf[1200];
    pm_error_str(&err, buf, sizeof(buf));
    return 0;
  }
  pat_entries_t *e = NULL;
  pm_buf_t explain = {0}, out = {0};
  if (pat_expand(set, inv, &explain, &e) == 0) {
    for (int f = PAT_FORMAT_LIST; f <= PAT_FORMAT_GMOND; f++)
      pat_entries_format(e, (pat_format_t)f, "fuzz.conf", &out);
    pat_entries_free(e);
  }
  pm_buf_free(&explain);
  pm_buf_free(&out);
  pat_set_free(set);
  return 0;
}
