/* socket.c: the event socket file, created so that only root and the chosen
 * group can ever reach it, and removed only while it is still ours. */
#include "config.h"

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKET_MODE 0660
#define DIR_MODE 0755
/* The private directory the socket is bound in before it is moved. */
#define TMP_DIR_NAME "/.hpXXXXXX"
#define TMP_SOCK_NAME "/s"

static int fill_addr(struct sockaddr_un *sa, const char *path) {
  memset(sa, 0, sizeof(*sa));
  sa->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(sa->sun_path))
    return -ENAMETOOLONG;
  strcpy(sa->sun_path, path);
  return 0;
}

int hp_lookup_group(const char *group, gid_t *ret) {
  char buf[16384];
  struct group gr, *res = NULL;
  int e = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
  if (e)
    return -e;
  if (!res)
    return -ENOENT;
  *ret = res->gr_gid;
  return 0;
}

/* Is the socket file at path still in use? Only a refused connection (or a
 * file gone meanwhile) proves it stale; a stream socket, for one, is not
 * ours to replace. */
static bool socket_in_use(const char *path) {
  struct sockaddr_un sa;
  if (fill_addr(&sa, path) < 0)
    return true;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  bool used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
              (errno != ECONNREFUSED && errno != ENOENT);
  close(fd);
  return used;
}

/* Creates the socket's directory when it alone is missing. */
static int make_parent(const char *dir, char *why, size_t whylen) {
  struct stat st;
  if (stat(dir, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return 0;
    hp_why(why, whylen, "%s is not a directory", dir);
    return -ENOTDIR;
  }
  if (mkdir(dir, DIR_MODE) == 0 || errno == EEXIST)
    return 0;
  int r = -errno;
  hp_why(why, whylen, "cannot create %s: %s", dir, strerror(-r));
  return r;
}

int hp_socket_open(const char *path, const char *group, int *ret_fd,
                   dev_t *ret_dev, ino_t *ret_ino, char *why, size_t whylen) {
  struct sockaddr_un sa;
  char dir[sizeof(sa.sun_path)];
  char tmp_dir[sizeof(dir) + sizeof(TMP_DIR_NAME)] = "";
  char tmp_sock[sizeof(tmp_dir) + sizeof(TMP_SOCK_NAME)] = "";
  struct stat st;
  gid_t gid = (gid_t)-1;
  int fd = -1, r;

  const char *slash = strrchr(path, '/');
  if (path[0] != '/' || !slash[1]) {
    hp_why(why, whylen, "socket path %s must be absolute, ending in a name",
           path);
    return -EINVAL;
  }
  size_t dlen = (size_t)(slash - path);
  if (fill_addr(&sa, path) < 0 ||
      dlen + sizeof(TMP_DIR_NAME TMP_SOCK_NAME) > sizeof(sa.sun_path)) {
    hp_why(why, whylen,
           "socket path too long (at most %zu bytes, its directory %zu): %s",
           sizeof(sa.sun_path) - 1,
           sizeof(sa.sun_path) - sizeof(TMP_DIR_NAME TMP_SOCK_NAME), path);
    return -ENAMETOOLONG;
  }
  if (group && (r = hp_lookup_group(group, &gid)) < 0) {
    hp_why(why, whylen, "unknown group %s", group);
    return r;
  }
  snprintf(dir, sizeof(dir), "%.*s", (int)(dlen ? dlen : 1), path);
  r = make_parent(dir, why, whylen);
  if (r < 0)
    return r;

  bool exists = lstat(path, &st) == 0;
  if (!exists && errno != ENOENT) {
    r = -errno;
    hp_why(why, whylen, "cannot check %s: %s", path, strerror(-r));
    return r;
  }
  if (exists && !S_ISSOCK(st.st_mode)) {
    hp_why(why, whylen, "%s exists and is not a socket: left alone", path);
    return -EEXIST;
  }
  if (exists && socket_in_use(path)) {
    hp_why(why, whylen, "%s is in use by another process", path);
    return -EADDRINUSE;
  }

  /* Bound in a directory only root can enter, given its owner and mode, then
   * moved in place: nobody can connect before the mode applies. */
  snprintf(tmp_dir, sizeof(tmp_dir), "%s" TMP_DIR_NAME, dlen ? dir : "");
  if (!mkdtemp(tmp_dir)) {
    r = -errno;
    tmp_dir[0] = '\0';
    hp_why(why, whylen, "cannot create a directory in %s: %s", dir,
           strerror(-r));
    goto out;
  }
  snprintf(tmp_sock, sizeof(tmp_sock), "%s" TMP_SOCK_NAME, tmp_dir);
  fill_addr(&sa, tmp_sock);
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
      chown(tmp_sock, (uid_t)-1, gid) < 0 || chmod(tmp_sock, SOCKET_MODE) < 0 ||
      lstat(tmp_sock, &st) < 0) {
    r = -errno;
    hp_why(why, whylen, "cannot create socket %s: %s", path, strerror(-r));
    goto out;
  }
  /* A stale socket is replaced in one step; otherwise never replace what
   * appeared since the check. */
  if (renameat2(AT_FDCWD, tmp_sock, AT_FDCWD, path,
                exists ? 0 : RENAME_NOREPLACE) < 0) {
    r = errno == EEXIST ? -EADDRINUSE : -errno;
    hp_why(why, whylen, "cannot move socket to %s: %s", path, strerror(-r));
    goto out;
  }
  tmp_sock[0] = '\0';
  *ret_fd = fd;
  *ret_dev = st.st_dev;
  *ret_ino = st.st_ino;
  fd = -1;
  r = 0;
out:
  if (fd >= 0)
    close(fd);
  if (tmp_sock[0])
    unlink(tmp_sock);
  if (tmp_dir[0])
    rmdir(tmp_dir);
  return r;
}

void hp_socket_remove(const char *path, dev_t dev, ino_t ino) {
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
      st.st_ino == ino)
    unlink(path);
}
