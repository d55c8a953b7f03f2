/* json: parse every embedded document, print it indented with sorted keys,
   query a few paths and report the errors; counts allocations through the
   library's allocation hooks.  The exit status is the number of documents
   that failed to parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

extern const char *const json_docs[];
extern const int json_doc_count;

static long live_blocks, total_blocks;

/* Replace the library's weak hooks: count every block. */
void *json_alloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL) abort();
  live_blocks++;
  total_blocks++;
  return p;
}

void json_release(void *p) {
  if (p == NULL) return;
  live_blocks--;
  free(p);
}

static int indent = 2;

__attribute__((constructor(101))) static void configure(void) { indent = 3; }
__attribute__((constructor(65000))) static void configure_late(void) { indent -= 1; }

static void counting_sink(const char *s, size_t n, void *ctx) {
  size_t *bytes = ctx;
  (void)s;
  *bytes += n;
}

static void query(const struct json *doc, const char *path) {
  const struct json *j = json_get(doc, path);
  printf("  %s -> ", path);
  if (j == NULL) {
    printf("(none)\n");
    return;
  }
  printf("%s: ", json_type_names[j->type]);
  json_print(j, 0, json_stdout_sink, NULL);
}

int main(void) {
  static const char *const paths[] = {
    "name", "version.1", "targets.node.ms", "1.text", "2.empty", "matrix.2.0",
    "numbers.4", "deep.a.b.c.d.2", "nosuch.path", "version.9",
  };
  int failures = 0;
  for (int i = 0; i < json_doc_count; i++) {
    struct json_error err;
    printf("--- document %d (%zu bytes)\n", i + 1, strlen(json_docs[i]));
    struct json *doc = json_parse(json_docs[i], &err);
    if (doc == NULL) {
      failures++;
      printf("error: %d:%d: %s\n", err.line, err.col, err.msg);
      continue;
    }
    json_sort_keys(doc);
    json_print(doc, indent, json_stdout_sink, NULL);
    size_t compact = 0;
    json_print(doc, 0, counting_sink, &compact);
    printf("  %zu numbers, %zu strings, %zu objects; %zu bytes unindented\n",
           json_count(doc, J_NUMBER), json_count(doc, J_STRING), json_count(doc, J_OBJECT),
           compact);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
      if (json_get(doc, paths[p]) != NULL || i == 0) query(doc, paths[p]);
    json_free(doc);
  }
  printf("%ld blocks allocated, %ld still live\n", total_blocks, live_blocks);
  return failures;
}
