/* A sorted stop-word list, built by a constructor before any program
   constructor runs (priority 110), searched with bsearch. */
#include <stdlib.h>
#include <string.h>

#include "../wordfreq.h"

static const char *const raw[] = {
  "the", "and", "of", "to", "a", "in", "that", "it", "is", "was", "i", "for", "on", "you",
  "he", "be", "with", "as", "by", "at", "have", "are", "this", "not", "but", "had", "his",
  "they", "from", "she", "which", "or", "we", "an", "there", "her", "were", "one", "do",
  "been", "all", "their", "has", "would", "will", "what", "if", "can", "when", "so", "no",
  "its", "into", "than", "them", "these", "our", "more", "any", "upon", "who", "him", "my",
};

static const char **sorted;
static int nsorted;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

__attribute__((constructor(110))) static void build_stop_words(void) {
  nsorted = (int)(sizeof raw / sizeof raw[0]);
  sorted = malloc((size_t)nsorted * sizeof *sorted);
  if (sorted == NULL) abort();
  memcpy(sorted, raw, (size_t)nsorted * sizeof *sorted);
  qsort(sorted, (size_t)nsorted, sizeof *sorted, cmp_str);
}

int is_stop_word(const char *w) {
  return bsearch(&w, sorted, (size_t)nsorted, sizeof *sorted, cmp_str) != NULL;
}

int stop_word_count(void) { return nsorted; }
