/* A side module written against libffi's C API (irld's -lffi): ffi_call of its own
 * function, and a closure the main program calls as a plain function pointer. */
#include <ffi.h>

IRLD_FFI_SIGNATURE(int, (int, int));

static int add(int a, int b) { return a + b; }

int call_add(int x, int y) {
  ffi_cif cif;
  ffi_type *args[2] = {&ffi_type_sint, &ffi_type_sint};
  void *values[2] = {&x, &y};
  ffi_arg result;
  if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, args) != FFI_OK) return -1;
  ffi_call(&cif, FFI_FN(add), &result, values);
  return (int)result;
}

static ffi_cif mul_cif;
static ffi_type *mul_args[2];
static int factor = 3;

static void mul_handler(ffi_cif *cif, void *ret, void **args, void *user_data) {
  (void)cif;
  *(ffi_arg *)ret = *(int *)args[0] * *(int *)args[1] * *(int *)user_data;
}

/* x * y * 3, as an `int (*)(int, int)`; NULL when libffi says no. */
int (*make_mul(void))(int, int) {
  void *code;
  mul_args[0] = mul_args[1] = &ffi_type_sint;
  if (ffi_prep_cif(&mul_cif, FFI_DEFAULT_ABI, 2, &ffi_type_sint, mul_args) != FFI_OK) return 0;
  ffi_closure *closure = ffi_closure_alloc(sizeof(ffi_closure), &code);
  if (closure == 0 || ffi_prep_closure_loc(closure, &mul_cif, mul_handler, &factor, code) != FFI_OK)
    return 0;
  return (int (*)(int, int))code;
}
