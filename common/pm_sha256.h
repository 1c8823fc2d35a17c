/* pm_sha256.h: SHA-256 (FIPS 180-4), for digests that name a content
 * (the pattern set's digest). Not for secrets: nothing here is constant
 * time. */
#ifndef PATMON_PM_SHA256_H
#define PATMON_PM_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PM_SHA256_LEN 32
#define PM_SHA256_HEX (2 * PM_SHA256_LEN)

typedef struct pm_sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes hashed so far */
  uint8_t block[64];
  size_t used; /* bytes waiting in block */
} pm_sha256_t;

/* Starts a digest. */
void pm_sha256_init(pm_sha256_t *s);
/* Hashes n more bytes of data. */
void pm_sha256_update(pm_sha256_t *s, const void *data, size_t n);
/* Finishes: the 32-byte digest into ret; s must be started again before
 * any further use. */
void pm_sha256_final(pm_sha256_t *s, uint8_t ret[PM_SHA256_LEN]);
/* The digest of data at once, as 64 lower-case hex digits and a NUL. */
void pm_sha256_hex(const void *data, size_t n, char ret[PM_SHA256_HEX + 1]);

#endif
