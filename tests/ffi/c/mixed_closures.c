#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
IRLD_FFI_SIGNATURE(int8_t, (int8_t, uint16_t));
IRLD_FFI_SIGNATURE(long double, (long double, int));
IRLD_FFI_SIGNATURE(struct { int32_t, int32_t, int32_t }, (struct { int32_t, int32_t, int32_t }));
struct tri { int32_t a, b, c; };
int8_t c_small(int8_t a, uint16_t b) { return (int8_t)(a + b); }
void show(int tag, long long v) { printf("%d: %lld\n", tag, v); fflush(stdout); }
static void cl_small(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(ffi_sarg *)ret = (int8_t)(*(int8_t *)args[0] - *(uint16_t *)args[1]);
}
static void cl_ld(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(long double *)ret = *(long double *)args[0] * *(int *)args[1];
}
static void cl_tri(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  struct tri t = *(struct tri *)args[0];
  struct tri r = {t.c, t.b * 2, t.a};
  *(struct tri *)ret = r;
}
static ffi_type *tri_el[] = {&ffi_type_sint32, &ffi_type_sint32, &ffi_type_sint32, NULL};
static ffi_type tri_t = {0, 0, FFI_TYPE_STRUCT, tri_el};
static ffi_type *a0[] = {&ffi_type_sint8, &ffi_type_uint16};
static ffi_type *a1[] = {&ffi_type_longdouble, &ffi_type_sint32};
static ffi_type *a2[] = {&tri_t};
static ffi_cif cifs[3];
static void *codes[3];
void **make_closures(void) {
  ffi_closure *c;
  ffi_prep_cif(&cifs[0], FFI_DEFAULT_ABI, 2, &ffi_type_sint8, a0);
  ffi_prep_cif(&cifs[1], FFI_DEFAULT_ABI, 2, &ffi_type_longdouble, a1);
  ffi_prep_cif(&cifs[2], FFI_DEFAULT_ABI, 1, &tri_t, a2);
  ffi_alloc_prep_closure(&c, &cifs[0], cl_small, NULL, &codes[0]);
  ffi_alloc_prep_closure(&c, &cifs[1], cl_ld, NULL, &codes[1]);
  ffi_alloc_prep_closure(&c, &cifs[2], cl_tri, NULL, &codes[2]);
  return codes;
}
int c_main(void);
int main(void) { return c_main(); }
