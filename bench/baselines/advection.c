/*
 * The Julia manual's advection kernel, q[i,j,t+1] = q[i,j,t] + u[i,j,t], in C -O2: SPEC §6's second
 * baseline for the SharedArray advection figure, and a measure of the box's 2-process capacity for this
 * kernel that does not depend on Node's JIT.
 *
 *     advection N        (then one command per line on stdin; one answer line on stdout each)
 *       serial   the whole kernel in this process            -> ms
 *       one      half the columns (j < N/2) in this process   -> ms
 *       two      both halves at once, this process and a child forked at start, on the same
 *                MAP_SHARED arrays (as the shared variant splits them)  -> ms, first start to last end
 *       sum      the sum of q's last time step (checks that the kernel did its work)  -> number
 *
 * The arrays and the child live as long as the process, so every command runs on warm mappings and can
 * sit in the same round as the Node measurements it is compared with. EOF on stdin ends both processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

static double *q, *u;
static long n;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The kernel on columns [j0, j1) of every time step, column-major n×n×n (first index fastest). */
static void kernel(long j0, long j1) {
  const long plane = n * n;
  for (long t = 0; t < n - 1; t++) {
    for (long j = j0; j < j1; j++) {
      const double *restrict qt = q + t * plane + j * n;
      const double *restrict ut = u + t * plane + j * n;
      double *restrict qn = q + (t + 1) * plane + j * n;
      for (long i = 0; i < n; i++) qn[i] = qt[i] + ut[i];
    }
  }
}

static double *shared_array(long len) {
  void *p = mmap(NULL, (size_t)len * sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("advection: mmap");
    exit(1);
  }
  return p;
}

int main(int argc, char **argv) {
  n = argc > 1 ? atol(argv[1]) : 0;
  if (n < 2 || n > 2000) {
    fprintf(stderr, "usage: advection N (2 <= N <= 2000)\n");
    return 2;
  }
  const long len = n * n * n, plane = n * n;
  q = shared_array(len);
  u = shared_array(len);
  /* The inputs of examples/advection-kernels.ts's fillInputs. */
  for (long k = 0; k < len; k++) {
    const long i = k % n, j = (k / n) % n, t = k / plane;
    u[k] = (double)((i * 7 + j * 13 + t * 3) % 17) / 16;
    q[k] = k < plane ? (double)((i + 2 * j) % 5) / 16 : 0;
  }
  int go[2], done[2];
  if (pipe(go) != 0 || pipe(done) != 0) {
    perror("advection: pipe");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    perror("advection: fork");
    return 1;
  }
  if (child == 0) {
    close(go[1]);
    close(done[0]);
    char c;
    while (read(go[0], &c, 1) == 1) {
      kernel(n / 2, n);
      const double end = now_ms();
      if (write(done[1], &end, sizeof end) != sizeof end) _exit(1);
    }
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    const double t0 = now_ms();
    if (strncmp(line, "serial", 6) == 0) {
      kernel(0, n);
      printf("%.4f\n", now_ms() - t0);
    } else if (strncmp(line, "one", 3) == 0) {
      kernel(0, n / 2);
      printf("%.4f\n", now_ms() - t0);
    } else if (strncmp(line, "two", 3) == 0) {
      const char c = 1;
      if (write(go[1], &c, 1) != 1) return 1;
      kernel(0, n / 2);
      const double mine = now_ms();
      double theirs;
      if (read(done[0], &theirs, sizeof theirs) != sizeof theirs) return 1;
      printf("%.4f\n", (mine > theirs ? mine : theirs) - t0);
    } else if (strncmp(line, "sum", 3) == 0) {
      double s = 0;
      for (long k = (n - 1) * plane; k < len; k++) s += q[k];
      printf("%.17g\n", s);
    } else {
      printf("error: unknown command\n");
    }
  }
  close(go[1]);
  waitpid(child, NULL, 0);
  return 0;
}
