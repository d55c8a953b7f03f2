#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../stats.h"

__attribute__((weak)) int stats_digits = 3;

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile(const double *sorted, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)floor(pos);
  double frac = pos - (double)i;
  return i + 1 < n ? sorted[i] * (1 - frac) + sorted[i + 1] * frac : sorted[i];
}

void summarize(const double *xs, size_t n, struct summary *out) {
  memset(out, 0, sizeof *out);
  out->n = n;
  if (n == 0) return;
  double *s = malloc(n * sizeof *s);
  if (s == NULL) abort();
  memcpy(s, xs, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_double);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += s[i];
  out->mean = sum / (double)n;
  double m2 = 0, m3 = 0;
  for (size_t i = 0; i < n; i++) {
    double d = s[i] - out->mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  out->stddev = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;
  double pop_sd = sqrt(m2 / (double)n);
  out->skew = pop_sd > 0 ? (m3 / (double)n) / pow(pop_sd, 3) : 0;
  out->min = s[0];
  out->max = s[n - 1];
  out->median = quantile(s, n, 0.5);
  out->p90 = quantile(s, n, 0.9);
  free(s);
}

double correlation(const double *xs, const double *ys, size_t n) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; i++) { mx += xs[i]; my += ys[i]; }
  mx /= (double)n;
  my /= (double)n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) * (xs[i] - mx);
    syy += (ys[i] - my) * (ys[i] - my);
  }
  return sxy / sqrt(sxx * syy);
}

void linear_fit(const double *xs, const double *ys, size_t n, double *slope, double *icept) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < n; i++) {
    sx += xs[i];
    sy += ys[i];
    sxx += xs[i] * xs[i];
    sxy += xs[i] * ys[i];
  }
  double dn = (double)n;
  *slope = (dn * sxy - sx * sy) / (dn * sxx - sx * sx);
  *icept = (sy - *slope * sx) / dn;
}

void histogram(const double *xs, size_t n, double lo, double hi, int bins, int *counts) {
  memset(counts, 0, (size_t)bins * sizeof *counts);
  for (size_t i = 0; i < n; i++) {
    int b = (int)floor((xs[i] - lo) / (hi - lo) * bins);
    if (b < 0) b = 0;
    if (b >= bins) b = bins - 1;
    counts[b]++;
  }
}
