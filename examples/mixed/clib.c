/* mixed: the C half.  No libc: what the program needs of C is the language itself. */

typedef int (*compare_fn)(int, int);

extern int ir_square(int x);            /* defined in main.ir */

static const int weights[] = {3, 1, 4, 1, 5, 9, 2, 6};
static int sorts;

/* Stable insertion sort of a[0..n) with an IR comparator. */
void c_sort(int *a, int n, compare_fn cmp) {
  for (int i = 1; i < n; i++) {
    int v = a[i], j = i;
    while (j > 0 && cmp(a[j - 1], v) > 0) {
      a[j] = a[j - 1];
      j--;
    }
    a[j] = v;
  }
  sorts++;
}

int c_sum_squares(const int *a, int n) {
  int s = 0;
  for (int i = 0; i < n; i++)
    s += ir_square(a[i]);
  return s + sorts - 1;
}

int c_weight(int i) { return weights[i] * 10 + i; }
