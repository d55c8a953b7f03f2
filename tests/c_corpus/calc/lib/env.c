/* Variables (a sorted array, binary search) and user functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calc.h"

struct var { char name[32]; double value; };

static struct var *vars;
static int nvars, capvars;

static int find_var(const char *name, int *at) {
  int lo = 0, hi = nvars;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    int c = strcmp(vars[mid].name, name);
    if (c == 0) { *at = mid; return 1; }
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  *at = lo;
  return 0;
}

int env_get(const char *name, double *out) {
  int at;
  if (!find_var(name, &at)) return 0;
  *out = vars[at].value;
  return 1;
}

void env_set(const char *name, double value) {
  int at;
  if (find_var(name, &at)) { vars[at].value = value; return; }
  if (nvars == capvars) {
    capvars = capvars ? capvars * 2 : 4;
    vars = realloc(vars, (size_t)capvars * sizeof *vars);
    if (vars == NULL) abort();
  }
  memmove(&vars[at + 1], &vars[at], (size_t)(nvars - at) * sizeof *vars);
  memset(&vars[at], 0, sizeof vars[at]);
  strncpy(vars[at].name, name, sizeof vars[at].name - 1);
  vars[at].value = value;
  nvars++;
}

int env_count(void) { return nvars; }

void env_dump(void) {
  for (int i = 0; i < nvars; i++)
    printf("  %-8s = %.*g\n", vars[i].name, calc_precision(), vars[i].value);
}

struct user_fn {
  char name[32];
  int nparams;
  char params[MAX_ARGS][32];
  struct node *body;
  struct user_fn *next;
};

static struct user_fn *user_fns;

int define_function(const char *name, int nparams, char params[][32], struct node *body) {
  struct user_fn *f = calloc(1, sizeof *f);
  if (f == NULL) abort();
  strncpy(f->name, name, sizeof f->name - 1);
  f->nparams = nparams;
  for (int i = 0; i < nparams; i++) strcpy(f->params[i], params[i]);
  f->body = body;
  f->next = user_fns;
  user_fns = f;
  return nparams;
}

int call_user_function(const char *name, const double *args, int nargs, double *out) {
  struct user_fn *f = user_fns;
  while (f != NULL && strcmp(f->name, name) != 0) f = f->next;
  if (f == NULL) return -1;
  if (nargs != f->nparams) return -2;
  /* Parameters are dynamically scoped: save, bind, evaluate, restore. */
  double saved[MAX_ARGS];
  int had[MAX_ARGS];
  for (int i = 0; i < nargs; i++) {
    had[i] = env_get(f->params[i], &saved[i]);
    env_set(f->params[i], args[i]);
  }
  int ok = 1;
  *out = eval(f->body, &ok);
  for (int i = 0; i < nargs; i++) env_set(f->params[i], had[i] ? saved[i] : 0.0);
  return ok ? 0 : -3;
}
