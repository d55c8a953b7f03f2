#include <stdlib.h>
#include <string.h>

#include "../json.h"

const char *const json_type_names[] = {"null", "bool", "number", "string", "array", "object"};

__attribute__((weak)) void *json_alloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL) abort();
  return p;
}

__attribute__((weak)) void json_release(void *p) { free(p); }

void json_free(struct json *j) {
  if (j == NULL) return;
  for (size_t i = 0; i < j->len; i++) json_free(j->items[i]);
  json_release(j->items);
  json_release(j->string);
  json_release(j->key);
  json_release(j);
}

/* "a.b.2.c": members by name, array items by index. */
const struct json *json_get(const struct json *j, const char *path) {
  while (j != NULL && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    const struct json *next = NULL;
    if (j->type == J_OBJECT) {
      for (size_t i = 0; i < j->len && next == NULL; i++)
        if (strlen(j->items[i]->key) == n && strncmp(j->items[i]->key, path, n) == 0)
          next = j->items[i];
    } else if (j->type == J_ARRAY) {
      char *end;
      unsigned long idx = strtoul(path, &end, 10);
      if ((size_t)(end - path) == n && idx < j->len) next = j->items[idx];
    }
    j = next;
    path += n + (dot != NULL);
  }
  return j;
}

static int by_key(const void *a, const void *b) {
  return strcmp((*(struct json *const *)a)->key, (*(struct json *const *)b)->key);
}

void json_sort_keys(struct json *j) {
  if (j->type == J_OBJECT && j->len > 1) qsort(j->items, j->len, sizeof *j->items, by_key);
  for (size_t i = 0; i < j->len; i++) json_sort_keys(j->items[i]);
}

size_t json_count(const struct json *j, enum json_type type) {
  size_t n = j->type == type;
  for (size_t i = 0; i < j->len; i++) n += json_count(j->items[i], type);
  return n;
}
