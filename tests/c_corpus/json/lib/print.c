/* The pretty printer: one member or item a line, strings escaped, numbers
   in the shortest of %.17g that reads back the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json.h"

void json_stdout_sink(const char *s, size_t n, void *ctx) {
  (void)ctx;
  fwrite(s, 1, n, stdout);
}

struct out { json_sink sink; void *ctx; int indent; };

static void put(struct out *o, const char *s) { o->sink(s, strlen(s), o->ctx); }

static void newline(struct out *o, int depth) {
  char buf[128];
  int n = depth * o->indent;
  if (n > 126) n = 126;
  buf[0] = '\n';
  memset(buf + 1, ' ', (size_t)n);
  o->sink(buf, (size_t)n + 1, o->ctx);
}

static void put_string(struct out *o, const char *s) {
  put(o, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    const char *esc = NULL;
    switch (c) {
      case '"': esc = "\\\""; break;
      case '\\': esc = "\\\\"; break;
      case '\n': esc = "\\n"; break;
      case '\t': esc = "\\t"; break;
      case '\r': esc = "\\r"; break;
      default: break;
    }
    char buf[8];
    if (esc == NULL && c < 0x20) {
      snprintf(buf, sizeof buf, "\\u%04x", c);
      esc = buf;
    }
    if (esc != NULL) put(o, esc);
    else o->sink(s, 1, o->ctx);
  }
  put(o, "\"");
}

static void put_number(struct out *o, double v) {
  char buf[32];
  if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    put(o, buf);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  put(o, buf);
}

static void print_value(struct out *o, const struct json *j, int depth) {
  switch (j->type) {
    case J_NULL: put(o, "null"); return;
    case J_BOOL: put(o, j->boolean ? "true" : "false"); return;
    case J_NUMBER: put_number(o, j->number); return;
    case J_STRING: put_string(o, j->string); return;
    case J_ARRAY:
    case J_OBJECT: break;
  }
  int object = j->type == J_OBJECT;
  put(o, object ? "{" : "[");
  for (size_t i = 0; i < j->len; i++) {
    newline(o, depth + 1);
    if (object) {
      put_string(o, j->items[i]->key);
      put(o, ": ");
    }
    print_value(o, j->items[i], depth + 1);
    if (i + 1 < j->len) put(o, ",");
  }
  if (j->len) newline(o, depth);
  put(o, object ? "}" : "]");
}

void json_print(const struct json *j, int indent, json_sink sink, void *ctx) {
  struct out o = {sink, ctx, indent};
  print_value(&o, j, 0);
  put(&o, "\n");
}
