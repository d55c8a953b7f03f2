/* The example's own C library (archived as libqsort.a): statistics over
   the IR program's records with libm, and C comparators the IR program gets
   back as function pointers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

struct person { const char *name; int born; int died; };

typedef int (*compare_fn)(const void *, const void *);

static int by_lifespan(const void *a, const void *b) {
  const struct person *x = a, *y = b;
  int lx = x->died - x->born, ly = y->died - y->born;
  return lx != ly ? (lx > ly ? -1 : 1) : strcmp(x->name, y->name);
}

static int by_name_length(const void *a, const void *b) {
  const struct person *x = a, *y = b;
  size_t lx = strlen(x->name), ly = strlen(y->name);
  return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->name, y->name);
}

/* 0: longest life first; 1: shortest name first; else NULL. */
compare_fn people_order(int which) {
  static const compare_fn orders[] = {by_lifespan, by_name_length};
  return which >= 0 && which < 2 ? orders[which] : NULL;
}

/* Mean and standard deviation of the lifespans, printed by C's printf. */
double people_report(const struct person *p, int n) {
  double sum = 0, sq = 0;
  for (int i = 0; i < n; i++) sum += p[i].died - p[i].born;
  double mean = sum / n;
  for (int i = 0; i < n; i++) {
    double d = p[i].died - p[i].born - mean;
    sq += d * d;
  }
  printf("lifespan: mean %.2f years, sd %.2f, over %d people\n", mean, sqrt(sq / n), n);
  return mean;
}
