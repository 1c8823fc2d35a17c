/* cd-putval: sends the PUTVAL lines read on stdin to collectd's unixsock,
 * one connection, each answer read before the next line goes.
 *
 *   cd-putval SOCKET < lines
 *
 * Prints how many were sent and how many collectd refused (the first
 * refusal is quoted). Exit status 0 when none was refused. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: cd-putval SOCKET < lines\n");
    return 2;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    perror(argv[1]);
    return 1;
  }
  FILE *in = fdopen(dup(fd), "r");
  if (!in) {
    perror("fdopen");
    return 1;
  }
  char line[4096], answer[4096], first[8300] = "";
  long sent = 0, refused = 0;
  while (fgets(line, sizeof(line), stdin)) {
    size_t n = strlen(line);
    if (write(fd, line, n) != (ssize_t)n) {
      perror("write");
      return 1;
    }
    if (!fgets(answer, sizeof(answer), in)) {
      fprintf(stderr, "cd-putval: collectd closed the socket\n");
      return 1;
    }
    sent++;
    if (strncmp(answer, "0 ", 2) != 0 && refused++ == 0)
      snprintf(first, sizeof(first), "%s -> %s", line, answer);
  }
  printf("%ld sent, %ld refused%s%s", sent, refused, refused ? ": " : "\n",
         first);
  fclose(in);
  close(fd);
  return refused ? 1 : 0;
}
