/*
 * The floor of a JSON-directory discovery in C: readdir, then open + read +
 * close of every regular *.json file, no parsing. Compiled by the bench
 * (bench/read-path.mjs) with `cc -O2` when a C compiler is present.
 *   read-loop DIR ITERATIONS  ->  prints one line per iteration: milliseconds
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: read-loop DIR ITERATIONS\n");
    return 2;
  }
  int iterations = atoi(argv[2]);
  static char buf[1 << 18];
  char path[4096];
  for (int it = 0; it < iterations; it++) {
    double t0 = now_ms();
    DIR *dir = opendir(argv[1]);
    if (!dir) {
      perror("opendir");
      return 1;
    }
    long files = 0, bytes = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
      size_t len = strlen(e->d_name);
      if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
      snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
      int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      if (fd < 0) continue;
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) bytes += n;
      close(fd);
      files++;
    }
    closedir(dir);
    printf("%.4f %ld %ld\n", now_ms() - t0, files, bytes);
  }
  return 0;
}
