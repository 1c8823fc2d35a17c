/* pm.h: small helpers shared by every patmon area (buffers, files, processes).
 *
 * Conventions: functions return 0 or a negative errno; nothing here logs. */
#ifndef PATMON_PM_H
#define PATMON_PM_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A growable byte buffer, always NUL-terminated when data is non-NULL.
 * Zero-initialise it ({0}); pm_buf_free() releases it and leaves it empty.
 * The first failed append sets err (sticky until pm_buf_free) and later
 * appends do nothing, so a writer may check err once at the end. */
typedef struct pm_buf {
  char *data;
  size_t len;
  size_t cap;
  int err;
} pm_buf_t;

int pm_buf_reserve(pm_buf_t *b, size_t extra);
int pm_buf_append(pm_buf_t *b, const void *p, size_t n);
int pm_buf_puts(pm_buf_t *b, const char *s);
int pm_buf_putc(pm_buf_t *b, char c);
int pm_buf_printf(pm_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int pm_buf_vprintf(pm_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void pm_buf_reset(pm_buf_t *b);
void pm_buf_free(pm_buf_t *b);

/* The error pm_file_read() returns for a path that is not a regular file
 * (a FIFO, a device, a directory, a socket). Linux has no EFTYPE. */
#define PM_ENOTREG EMEDIUMTYPE

/* Reads a whole regular file into out (replacing its content). Never blocks
 * in open: anything but a regular file fails with -PM_ENOTREG. Fails with
 * -EFBIG when the file is larger than max bytes. */
int pm_file_read(const char *path, size_t max, pm_buf_t *out);
/* 0 when path is a regular file (checked on an fd opened without blocking,
 * symlinks followed), -PM_ENOTREG when it is something else, or -errno:
 * for a library that opens paths itself and would block on a FIFO. */
int pm_regular_file(const char *path);
/* strerror(-r), with "not a regular file" for -PM_ENOTREG. */
const char *pm_strerror(int r);

/* Writes all len bytes to fd, resuming after EINTR and short writes. 0, or
 * a negative errno (then part of the data may have been written). */
int pm_write_all(int fd, const void *data, size_t len);
/* The same for a socket, without SIGPIPE: a peer that has gone is -EPIPE
 * (MSG_NOSIGNAL), not the end of the process. */
int pm_send_all(int fd, const void *data, size_t len);

/* Replaces path with data atomically (temporary file in the same directory,
 * fsync, rename) unless it already holds exactly these bytes. A symlink is
 * followed and its target replaced. A target that exists but is not a
 * regular file (/dev/stdout, a FIFO) is written in place, never renamed over.
 * Returns 1 when written, 0 when unchanged, or a negative errno; on error the
 * previous file is untouched. */
int pm_file_replace(const char *path, const void *data, size_t len,
                    mode_t mode);

/* Runs argv[0] (searched in PATH) with argv, never through a shell, stdin
 * from /dev/null. Captures stdout into out and stderr into err (either may be
 * NULL to discard; each capped at 16 MiB, the rest read and dropped). Kills
 * the child and returns -ETIMEDOUT after timeout_ms milliseconds (0: no
 * limit). On success returns 0 and stores the wait status in *ret_status;
 * -EFBIG, with *ret_status stored all the same, when stdout went past the
 * cap (out then holds its first 16 MiB). -ENOENT when the program does not
 * exist. */
int pm_spawn(char *const argv[], int timeout_ms, pm_buf_t *out, pm_buf_t *err,
             int *ret_status);

/* Where and why an input a person wrote is wrong. Filled by the function that
 * found the problem; the caller owns it and formats it for its host's log. */
typedef struct pm_error {
  char file[512];
  unsigned line;   /* 1-based, 0 when not tied to a line */
  unsigned column; /* 1-based, 0 when unknown */
  char text[256];  /* the offending text, may be empty */
  char msg[512];   /* the reason */
} pm_error_t;

/* Fills e (when non-NULL); text may be NULL. */
void pm_error_set(pm_error_t *e, const char *file, unsigned line,
                  const char *text, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* "file:line:column: msg: 'text'" with the parts that are known, control
 * characters made '?' (it is meant for a log). */
const char *pm_error_str(const pm_error_t *e, char *buf, size_t len);
/* Replaces the control characters of s (below 0x20, and 0x7f) with '?', in
 * place, for a log line; returns s. */
char *pm_printable(char *s);

/* Monotonic clock in nanoseconds. */
uint64_t pm_now_ns(void);
/* Wall clock (CLOCK_REALTIME) in milliseconds since the epoch. */
int64_t pm_wall_ms(void);

/* FNV-1a (64 bits) of n bytes, or of a string: the hash of every table
 * keyed by name, and of file contents compared for change. */
static inline uint64_t pm_hash(const void *p, size_t n) {
  const unsigned char *s = p;
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * UINT64_C(1099511628211);
  return h;
}
static inline uint64_t pm_hash_str(const char *s) {
  uint64_t h = UINT64_C(14695981039346656037);
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
  return h;
}

#endif
