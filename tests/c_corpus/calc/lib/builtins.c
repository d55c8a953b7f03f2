/* The builtin function table, filled by constructors: math functions first
   (priority 101), then the statistics helpers (priority 150) that are
   registered in terms of them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../calc.h"

#define MAX_BUILTINS 48

static struct builtin table[MAX_BUILTINS];
static int count;

void register_builtin(const char *name, int min_args, int max_args, builtin_fn fn) {
  if (count == MAX_BUILTINS) abort();
  table[count].name = name;
  table[count].min_args = min_args;
  table[count].max_args = max_args;
  table[count].fn = fn;
  count++;
}

const struct builtin *find_builtin(const char *name) {
  for (int i = 0; i < count; i++)
    if (strcmp(table[i].name, name) == 0) return &table[i];
  return NULL;
}

int builtin_count(void) { return count; }

void for_each_builtin(void (*visit)(const struct builtin *, void *), void *ctx) {
  for (int i = 0; i < count; i++) visit(&table[i], ctx);
}

static double b_sin(const double *a, int n) { (void)n; return sin(a[0]); }
static double b_cos(const double *a, int n) { (void)n; return cos(a[0]); }
static double b_tan(const double *a, int n) { (void)n; return tan(a[0]); }
static double b_sqrt(const double *a, int n) { (void)n; return sqrt(a[0]); }
static double b_exp(const double *a, int n) { (void)n; return exp(a[0]); }
static double b_log(const double *a, int n) { return n == 2 ? log(a[0]) / log(a[1]) : log(a[0]); }
static double b_floor(const double *a, int n) { (void)n; return floor(a[0]); }
static double b_ceil(const double *a, int n) { (void)n; return ceil(a[0]); }
static double b_abs(const double *a, int n) { (void)n; return fabs(a[0]); }
static double b_atan2(const double *a, int n) { (void)n; return atan2(a[0], a[1]); }
static double b_hypot(const double *a, int n) { (void)n; return hypot(a[0], a[1]); }
static double b_round(const double *a, int n) {
  if (n == 1) return round(a[0]);
  double scale = pow(10.0, a[1]);
  return round(a[0] * scale) / scale;
}

__attribute__((constructor(101))) static void register_math(void) {
  register_builtin("sin", 1, 1, b_sin);
  register_builtin("cos", 1, 1, b_cos);
  register_builtin("tan", 1, 1, b_tan);
  register_builtin("sqrt", 1, 1, b_sqrt);
  register_builtin("exp", 1, 1, b_exp);
  register_builtin("log", 1, 2, b_log);
  register_builtin("floor", 1, 1, b_floor);
  register_builtin("ceil", 1, 1, b_ceil);
  register_builtin("abs", 1, 1, b_abs);
  register_builtin("atan2", 2, 2, b_atan2);
  register_builtin("hypot", 2, 2, b_hypot);
  register_builtin("round", 1, 2, b_round);
}

static double b_min(const double *a, int n) {
  double m = a[0];
  for (int i = 1; i < n; i++) m = fmin(m, a[i]);
  return m;
}
static double b_max(const double *a, int n) {
  double m = a[0];
  for (int i = 1; i < n; i++) m = fmax(m, a[i]);
  return m;
}
static double b_mean(const double *a, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += a[i];
  return s / n;
}
static double b_gmean(const double *a, int n) {
  /* via log and exp, found in the table registered at priority 101 */
  const struct builtin *lg = find_builtin("log"), *ex = find_builtin("exp");
  double s = 0;
  for (int i = 0; i < n; i++) s += lg->fn(&a[i], 1);
  double m = s / n;
  return ex->fn(&m, 1);
}

__attribute__((constructor(150))) static void register_stats(void) {
  register_builtin("min", 1, MAX_ARGS, b_min);
  register_builtin("max", 1, MAX_ARGS, b_max);
  register_builtin("mean", 1, MAX_ARGS, b_mean);
  if (find_builtin("log") != NULL && find_builtin("exp") != NULL)
    register_builtin("gmean", 1, MAX_ARGS, b_gmean);
}
