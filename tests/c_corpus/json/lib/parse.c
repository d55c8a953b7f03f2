/* Recursive descent over RFC 8259 JSON, with line and column in errors. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json.h"

struct parser { const char *p, *line_start; int line; struct json_error *err; int failed; };

static struct json *value(struct parser *ps, int depth);

static void fail(struct parser *ps, const char *msg) {
  if (ps->failed) return;
  ps->failed = 1;
  ps->err->line = ps->line;
  ps->err->col = (int)(ps->p - ps->line_start) + 1;
  snprintf(ps->err->msg, sizeof ps->err->msg, "%s", msg);
}

static void skip_ws(struct parser *ps) {
  for (;; ps->p++) {
    if (*ps->p == '\n') { ps->line++; ps->line_start = ps->p + 1; continue; }
    if (*ps->p != ' ' && *ps->p != '\t' && *ps->p != '\r') return;
  }
}

static struct json *node(enum json_type t) {
  struct json *j = json_alloc(sizeof *j);
  memset(j, 0, sizeof *j);
  j->type = t;
  return j;
}

static void push(struct json *parent, struct json *child) {
  if (parent->len == parent->cap) {
    size_t cap = parent->cap ? parent->cap * 2 : 4;
    struct json **items = json_alloc(cap * sizeof *items);
    if (parent->len) memcpy(items, parent->items, parent->len * sizeof *items);
    json_release(parent->items);
    parent->items = items;
    parent->cap = cap;
  }
  parent->items[parent->len++] = child;
}

static int hex4(const char *s, unsigned *out) {
  *out = 0;
  for (int i = 0; i < 4; i++) {
    if (!isxdigit((unsigned char)s[i])) return 0;
    *out = *out * 16 + (unsigned)(isdigit((unsigned char)s[i]) ? s[i] - '0'
                                                                : (s[i] | 32) - 'a' + 10);
  }
  return 1;
}

static size_t put_utf8(char *out, unsigned cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xc0 | cp >> 6);
    out[1] = (char)(0x80 | (cp & 0x3f));
    return 2;
  }
  out[0] = (char)(0xe0 | cp >> 12);
  out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
  out[2] = (char)(0x80 | (cp & 0x3f));
  return 3;
}

static char *string(struct parser *ps) {
  ps->p++;  /* the opening quote */
  size_t cap = 16, n = 0;
  char *buf = json_alloc(cap);
  while (*ps->p != '"') {
    if (n + 4 >= cap) {
      char *bigger = json_alloc(cap * 2);
      memcpy(bigger, buf, n);
      json_release(buf);
      buf = bigger;
      cap *= 2;
    }
    unsigned char c = (unsigned char)*ps->p;
    if (c == '\0' || c == '\n') { fail(ps, "unterminated string"); break; }
    if (c != '\\') { buf[n++] = (char)c; ps->p++; continue; }
    ps->p++;
    const char *esc = strchr("\"\\/bfnrt", *ps->p);
    if (*ps->p != '\0' && esc != NULL) {
      buf[n++] = "\"\\/\b\f\n\r\t"[esc - "\"\\/bfnrt"];
      ps->p++;
      continue;
    }
    unsigned cp;
    if (*ps->p != 'u' || !hex4(ps->p + 1, &cp)) { fail(ps, "bad escape"); break; }
    n += put_utf8(buf + n, cp);
    ps->p += 5;
  }
  buf[n] = '\0';
  if (!ps->failed) ps->p++;
  return buf;
}

static struct json *number(struct parser *ps) {
  char *end;
  double v = strtod(ps->p, &end);
  if (end == ps->p) { fail(ps, "expected a value"); return node(J_NULL); }
  struct json *j = node(J_NUMBER);
  j->number = v;
  ps->p = end;
  return j;
}

static struct json *literal(struct parser *ps) {
  static const struct { const char *word; enum json_type type; int value; } words[] = {
    {"null", J_NULL, 0}, {"true", J_BOOL, 1}, {"false", J_BOOL, 0},
  };
  for (size_t i = 0; i < 3; i++) {
    size_t n = strlen(words[i].word);
    if (strncmp(ps->p, words[i].word, n) == 0) {
      ps->p += n;
      struct json *j = node(words[i].type);
      j->boolean = words[i].value;
      return j;
    }
  }
  return number(ps);
}

static struct json *container(struct parser *ps, int depth, int object) {
  struct json *j = node(object ? J_OBJECT : J_ARRAY);
  char close = object ? '}' : ']';
  ps->p++;
  skip_ws(ps);
  if (*ps->p == close) { ps->p++; return j; }
  while (!ps->failed) {
    char *key = NULL;
    if (object) {
      skip_ws(ps);
      if (*ps->p != '"') { fail(ps, "expected a member name"); break; }
      key = string(ps);
      skip_ws(ps);
      if (*ps->p != ':') { fail(ps, "expected ':'"); json_release(key); break; }
      ps->p++;
    }
    struct json *child = value(ps, depth + 1);
    child->key = key;
    push(j, child);
    skip_ws(ps);
    if (*ps->p == ',') { ps->p++; continue; }
    if (*ps->p == close) { ps->p++; break; }
    fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  return j;
}

static struct json *value(struct parser *ps, int depth) {
  skip_ws(ps);
  if (depth > 64) { fail(ps, "nested too deeply"); return node(J_NULL); }
  switch (*ps->p) {
    case '{': return container(ps, depth, 1);
    case '[': return container(ps, depth, 0);
    case '"': {
      struct json *j = node(J_STRING);
      j->string = string(ps);
      return j;
    }
    default: return literal(ps);
  }
}

struct json *json_parse(const char *text, struct json_error *err) {
  struct parser ps = {text, text, 1, err, 0};
  struct json *j = value(&ps, 0);
  skip_ws(&ps);
  if (!ps.failed && *ps.p != '\0') fail(&ps, "text after the value");
  if (ps.failed) { json_free(j); return NULL; }
  return j;
}
