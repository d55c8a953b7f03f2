#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../calc.h"

typedef double (*binop_fn)(double, double);

static double op_add(double a, double b) { return a + b; }
static double op_sub(double a, double b) { return a - b; }
static double op_mul(double a, double b) { return a * b; }
static double op_div(double a, double b) { return a / b; }
static double op_mod(double a, double b) { return fmod(a, b); }
static double op_pow(double a, double b) { return pow(a, b); }
static double op_lt(double a, double b) { return a < b; }
static double op_le(double a, double b) { return a <= b; }
static double op_gt(double a, double b) { return a > b; }
static double op_ge(double a, double b) { return a >= b; }
static double op_eq(double a, double b) { return a == b; }
static double op_ne(double a, double b) { return a != b; }

static const struct { const char *op; binop_fn fn; } binops[] = {
  {"+", op_add}, {"-", op_sub}, {"*", op_mul}, {"/", op_div}, {"%", op_mod}, {"^", op_pow},
  {"<", op_lt}, {"<=", op_le}, {">", op_gt}, {">=", op_ge}, {"==", op_eq}, {"!=", op_ne},
};

static binop_fn lookup_binop(const char *op) {
  for (size_t i = 0; i < sizeof binops / sizeof binops[0]; i++)
    if (strcmp(binops[i].op, op) == 0) return binops[i].fn;
  return NULL;
}

static double eval_call(const struct node *n, int *ok) {
  double args[MAX_ARGS];
  for (int i = 0; i < n->nkids; i++) args[i] = eval(n->kids[i], ok);
  if (!*ok) return 0;
  /* if(c, a, b) is lazy in neither branch: both were evaluated above */
  if (strcmp(n->name, "if") == 0 && n->nkids == 3) return args[0] != 0 ? args[1] : args[2];
  const struct builtin *b = find_builtin(n->name);
  if (b != NULL) {
    if (n->nkids < b->min_args || n->nkids > b->max_args) {
      char msg[96];
      snprintf(msg, sizeof msg, "%s takes %d to %d arguments, got %d", b->name, b->min_args,
               b->max_args, n->nkids);
      calc_report_error("call", msg);
      *ok = 0;
      return 0;
    }
    return b->fn(args, n->nkids);
  }
  double out;
  int rc = call_user_function(n->name, args, n->nkids, &out);
  if (rc == 0) return out;
  char msg[96];
  snprintf(msg, sizeof msg, rc == -1 ? "unknown function %s" : "bad call of %s", n->name);
  calc_report_error("call", msg);
  *ok = 0;
  return 0;
}

double eval(const struct node *n, int *ok) {
  switch (n->kind) {
    case N_NUM: return n->num;
    case N_VAR: {
      double v;
      if (env_get(n->name, &v)) return v;
      char msg[64];
      snprintf(msg, sizeof msg, "undefined variable %s", n->name);
      calc_report_error("eval", msg);
      *ok = 0;
      return 0;
    }
    case N_NEG: return -eval(n->kids[0], ok);
    case N_BIN: {
      double a = eval(n->kids[0], ok), b = eval(n->kids[1], ok);
      binop_fn fn = lookup_binop(n->op);
      return fn != NULL ? fn(a, b) : 0;
    }
    case N_CALL: return eval_call(n, ok);
    case N_ASSIGN: {
      double v = eval(n->kids[0], ok);
      if (*ok) env_set(n->name, v);
      return v;
    }
    case N_COND: return 0;
  }
  return 0;
}
