#include <math.h>
#include <stdio.h>

#include "stats.h"
#include "samples.h"

static void print_summary(const char *name, const double *xs) {
  struct summary s;
  summarize(xs, N_SAMPLES, &s);
  printf("%-8s n=%zu mean=%.*f sd=%.*f min=%.*f median=%.*f p90=%.*f max=%.*f skew=%.*f\n",
         name, s.n, stats_digits, s.mean, stats_digits, s.stddev, stats_digits, s.min,
         stats_digits, s.median, stats_digits, s.p90, stats_digits, s.max, stats_digits, s.skew);
}

static void distributions(void) {
  print_summary("height", heights);
  print_summary("weight", weights);
  print_summary("wait", waits);
  int counts[12];
  histogram(heights, N_SAMPLES, 140, 200, 12, counts);
  for (int b = 0; b < 12; b++) {
    char bar[64];
    int len = counts[b] / 10;
    if (len > 63) len = 63;
    for (int i = 0; i < len; i++) bar[i] = '#';
    bar[len] = '\0';
    printf("  %3d-%3d %4d %s\n", 140 + 5 * b, 145 + 5 * b, counts[b], bar);
  }
}

static void relations(void) {
  double slope, icept;
  linear_fit(heights, weights, N_SAMPLES, &slope, &icept);
  printf("weight = %.*f * height %+.*f, r = %.*f\n", stats_digits, slope, stats_digits, icept,
         stats_digits, correlation(heights, weights, N_SAMPLES));
  double logw[N_SAMPLES];
  for (int i = 0; i < N_SAMPLES; i++) logw[i] = log(waits[i] + 1);
  printf("corr(height, log(wait + 1)) = %.*f\n", stats_digits,
         correlation(heights, logw, N_SAMPLES));
  struct summary s;
  summarize(logw, N_SAMPLES, &s);
  printf("exp(mean log(wait + 1)) - 1 = %.*e\n", stats_digits, expm1(s.mean));
}

__attribute__((constructor(205))) static void register_dist(void) {
  add_section("distributions", distributions);
  add_section("relations", relations);
}
