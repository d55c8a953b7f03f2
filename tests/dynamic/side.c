/* A side module: data with pointers to its own data and functions, a ctor,
 * calls and data references into the main module. */
extern int host_value;
extern int main_helper(int);
int side_counter = 5;
int *side_ptr = &side_counter;
static int square(int x) { return x * x; }
int (*side_fp)(int) = square;
int *host_ptr = &host_value;

int side_add(int a, int b) {
  return a + b + *side_ptr + side_fp(2) + main_helper(1) + *host_ptr;
}
int side_call(int (*f)(int), int x) { return f(x) * 2; }
__attribute__((constructor)) static void init(void) { side_counter += 100; }
