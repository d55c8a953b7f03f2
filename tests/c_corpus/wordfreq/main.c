/* wordfreq: count the words of every embedded text and of all of them, print
   the most frequent ones, the longest ones and the first new words; the
   exit status is the number of distinct words modulo 64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordfreq.h"

/* Replaces the library's weak FNV-1a: djb2 (the probe counts below show
   which one the linker chose). */
unsigned default_hash(const char *key) {
  unsigned h = 5381;
  for (; *key; key++) h = h * 33 + (unsigned char)*key;
  return h;
}

static int case_blind_eq(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if ((*a | 32) != (*b | 32)) return 0;
  return *a == *b;
}

static struct table per_text[8];
static struct table all_words;
static int position;

__attribute__((constructor(300))) static void init_tables(void) {
  /* the stop words (priority 110) exist already */
  table_init(&all_words, 16, NULL, NULL);
  for (int i = 0; i < 8; i++) table_init(&per_text[i], 8, NULL, case_blind_eq);
}

struct sink_ctx { struct table *one; int skipped; };

static void count_word(const char *word, size_t len, void *ctx) {
  struct sink_ctx *c = ctx;
  (void)len;
  position++;
  if (is_stop_word(word)) { c->skipped++; return; }
  table_add(c->one, word, position);
  table_add(&all_words, word, position);
}

static void print_top(const char *title, struct table *t,
                      int (*cmp)(const void *, const void *), int n) {
  struct entry **sorted = table_sorted(t, cmp);
  printf("  %s:", title);
  for (int i = 0; i < n && sorted[i] != NULL; i++)
    printf("%s %s(%ld)", i ? "," : "", sorted[i]->key, sorted[i]->count);
  printf("\n");
  free(sorted);
}

int main(void) {
  printf("wordfreq: %d texts, %d stop words\n", text_count, stop_word_count());
  for (int i = 0; i < text_count; i++) {
    struct sink_ctx ctx = {&per_text[i], 0};
    size_t words = for_each_word(texts[i].body, count_word, &ctx);
    char heading[80];
    snprintf(heading, sizeof heading, "%s (%zu chars)", texts[i].title,
             strlen(texts[i].body));
    printf("%-28s %4zu words, %3d stop words, %3zu distinct, %5ld probes\n", heading, words,
           ctx.skipped, per_text[i].len, per_text[i].probes);
    print_top("most frequent", &per_text[i], by_count_then_word, 6);
  }
  printf("all texts: %zu distinct words in %zu slots, %ld probes\n", all_words.len,
         all_words.cap, all_words.probes);
  print_top("most frequent", &all_words, by_count_then_word, 15);
  print_top("longest", &all_words, by_length_then_word, 8);
  print_top("first seen", &all_words, by_first_seen, 10);
  struct entry *e = table_find(&all_words, "linker");
  printf("  'linker': %ld times, first at word %d\n", e ? e->count : 0L,
         e ? e->first_seen : -1);
  printf("  'absent': %s\n", table_find(&all_words, "absent") ? "found" : "not found");
  int status = (int)(all_words.len % 64);
  for (int i = 0; i < text_count; i++) table_free(&per_text[i]);
  table_free(&all_words);
  return status;
}
