/* json: parse JSON text into a tree, query it, print it back indented. */
#ifndef JSON_H
#define JSON_H

#include <stddef.h>

enum json_type { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct json {
  enum json_type type;
  double number;
  int boolean;
  char *string;           /* J_STRING; also the key of an object member */
  char *key;
  struct json **items;    /* J_ARRAY, J_OBJECT */
  size_t len, cap;
};

struct json_error { int line, col; char msg[80]; };

struct json *json_parse(const char *text, struct json_error *err);
void json_free(struct json *j);
const struct json *json_get(const struct json *j, const char *path);
void json_sort_keys(struct json *j);
size_t json_count(const struct json *j, enum json_type type);

/* Output goes to a sink, so the same printer writes to stdout or measures. */
typedef void (*json_sink)(const char *s, size_t n, void *ctx);
void json_print(const struct json *j, int indent, json_sink sink, void *ctx);
void json_stdout_sink(const char *s, size_t n, void *ctx);

/* The library allocates with these; weak defaults call malloc and free. */
void *json_alloc(size_t n);
void json_release(void *p);

extern const char *const json_type_names[];

#endif
