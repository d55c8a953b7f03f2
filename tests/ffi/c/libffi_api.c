/* A libffi client written as libffi's users write one (ffi.h only).
 *
 * tests/ffi/test_libffi_c.py compiles it twice: natively against the
 * system's real libffi 3.4, and for wasm32 against irld's ffi.h, linked
 * with `irld link -lffi`; both runs must print the same lines.  Each line
 * shows the value that came through libffi and, after `direct`, the value
 * of the same call made directly by C.
 */
#include <ffi.h>
#include "irld_ffi.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- the C functions called through ffi_call ---- */
static int8_t small_ints(int8_t a, uint8_t b, int16_t c, uint16_t d) {
  return (int8_t)(a + b + c + d);
}
static uint16_t small_unsigned(uint8_t a, uint16_t b) { return (uint16_t)(a * 300u + b); }
static int64_t wide(int64_t a, uint64_t b, int32_t c) { return a * 3 - (int64_t)(b >> 4) + c; }
static double floats(float a, double b, float c) { return a * b + c; }
static float floats_f(float a, float b) { return a / b; }
static double many(int a, double b, int c, double d, int e, double f, int g, double h,
                   int i, double j, int64_t k, float l) {
  return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9 + j * 10 +
         (double)k * 11 + l * 12;
}
static long double ld_mul(long double a, long double b) { return a * b + 0.25L; }
static long double ld_mix(int a, long double b) { return a - b; }

struct small { int16_t a; int8_t b; };
struct big { int64_t a; double b; int32_t c, d, e, f; };
struct inner { int32_t x; float y; };
struct outer { struct small s; double d; struct inner in; };
struct one { double v; };
struct pair { int32_t a, b; };

static struct small small_struct(struct small s, int k) {
  struct small r = {(int16_t)(s.a * k), (int8_t)(s.b - k)};
  return r;
}
static struct big big_struct(struct big x, struct big y) {
  struct big r = {x.a + y.a, x.b * y.b, x.c - y.c, x.d * y.d, x.e + 1, y.f - 1};
  return r;
}
static double nested_sum(struct outer o) { return o.s.a + o.s.b + o.d + o.in.x + o.in.y; }
static struct outer nested_make(int32_t k) {
  struct outer o = {{(int16_t)(k * 2), (int8_t)-k}, k * 0.5, {k + 7, k * 0.25f}};
  return o;
}
static struct one single(struct one a) { struct one r = {a.v * -2}; return r; }
static void set_through(int32_t *p, int32_t v) { *p = v * v; }

static double vmix(const char *fmt, ...) {
  va_list ap;
  double sum = 0;
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    switch (*f) {
      case 'i': sum += va_arg(ap, int); break;
      case 'd': sum += va_arg(ap, double); break;
      case 'l': sum += (double)va_arg(ap, long long); break;
      case 'p': { struct pair p = va_arg(ap, struct pair); sum += p.a * 10 + p.b; break; }
    }
  }
  va_end(ap);
  return sum;
}

/* ---- signatures, declared for irld (a no-op for the native build) ---- */
IRLD_FFI_SIGNATURE(int8_t, (int8_t, uint8_t, int16_t, uint16_t));
IRLD_FFI_SIGNATURE(uint16_t, (uint8_t, uint16_t));
IRLD_FFI_SIGNATURE(int64_t, (int64_t, uint64_t, int32_t));
IRLD_FFI_SIGNATURE(double, (float, double, float));
IRLD_FFI_SIGNATURE(float, (float, float));
IRLD_FFI_SIGNATURE(double, (int, double, int, double, int, double, int, double, int, double,
                            int64_t, float));
IRLD_FFI_SIGNATURE(long double, (long double, long double));
IRLD_FFI_SIGNATURE(long double, (int, long double));
IRLD_FFI_SIGNATURE(struct { int16_t, int8_t }, (struct { int16_t, int8_t }, int));
IRLD_FFI_SIGNATURE(struct { int64_t, double, int32_t, int32_t, int32_t, int32_t },
                   (struct { int64_t, double, int32_t, int32_t, int32_t, int32_t },
                    struct { int64_t, double, int32_t, int32_t, int32_t, int32_t }));
IRLD_FFI_SIGNATURE(double, (struct { struct { int16_t, int8_t }, double,
                                     struct { int32_t, float } }));
IRLD_FFI_SIGNATURE(struct { struct { int16_t, int8_t }, double, struct { int32_t, float } },
                   (int32_t));
IRLD_FFI_SIGNATURE(struct { double }, (struct { double }));
IRLD_FFI_SIGNATURE(void, (int32_t *, int32_t));
IRLD_FFI_SIGNATURE(double, (const char *, ..., int, double, long long, struct { int32_t,
                                                                               int32_t }));
IRLD_FFI_SIGNATURE(double, (const char *, ...));

/* ---- ffi_type descriptions of the structs ---- */
static ffi_type *small_elems[] = {&ffi_type_sint16, &ffi_type_sint8, NULL};
static ffi_type small_type = {0, 0, FFI_TYPE_STRUCT, small_elems};
static ffi_type *big_elems[] = {&ffi_type_sint64, &ffi_type_double, &ffi_type_sint32,
                                &ffi_type_sint32, &ffi_type_sint32, &ffi_type_sint32, NULL};
static ffi_type big_type = {0, 0, FFI_TYPE_STRUCT, big_elems};
static ffi_type *inner_elems[] = {&ffi_type_sint32, &ffi_type_float, NULL};
static ffi_type inner_type = {0, 0, FFI_TYPE_STRUCT, inner_elems};
static ffi_type *outer_elems[] = {&small_type, &ffi_type_double, &inner_type, NULL};
static ffi_type outer_type = {0, 0, FFI_TYPE_STRUCT, outer_elems};
static ffi_type *one_elems[] = {&ffi_type_double, NULL};
static ffi_type one_type = {0, 0, FFI_TYPE_STRUCT, one_elems};
static ffi_type *pair_elems[] = {&ffi_type_sint32, &ffi_type_sint32, NULL};
static ffi_type pair_type = {0, 0, FFI_TYPE_STRUCT, pair_elems};

static void prep(ffi_cif *cif, unsigned n, ffi_type *r, ffi_type **a, const char *what) {
  ffi_status st = ffi_prep_cif(cif, FFI_DEFAULT_ABI, n, r, a);
  if (st != FFI_OK) printf("FAIL prep %s: %d\n", what, (int)st);
}

static void calls(void) {
  ffi_cif cif;
  {
    ffi_type *at[] = {&ffi_type_sint8, &ffi_type_uint8, &ffi_type_sint16, &ffi_type_uint16};
    prep(&cif, 4, &ffi_type_sint8, at, "small_ints");
    int8_t a = -100; uint8_t b = 200; int16_t c = -300; uint16_t d = 60000;
    void *av[] = {&a, &b, &c, &d};
    ffi_arg r = 0;
    ffi_call(&cif, FFI_FN(small_ints), &r, av);
    printf("small_ints %ld direct %d\n", (long)(ffi_sarg)r, small_ints(a, b, c, d));
  }
  {
    ffi_type *at[] = {&ffi_type_uint8, &ffi_type_uint16};
    prep(&cif, 2, &ffi_type_uint16, at, "small_unsigned");
    uint8_t a = 250; uint16_t b = 65000;
    void *av[] = {&a, &b};
    ffi_arg r = 0;
    ffi_call(&cif, FFI_FN(small_unsigned), &r, av);
    printf("small_unsigned %lu direct %u\n", (unsigned long)r, small_unsigned(a, b));
  }
  {
    ffi_type *at[] = {&ffi_type_sint64, &ffi_type_uint64, &ffi_type_sint32};
    prep(&cif, 3, &ffi_type_sint64, at, "wide");
    int64_t a = -123456789012345LL; uint64_t b = 0xF000000000000000ULL; int32_t c = -7;
    void *av[] = {&a, &b, &c};
    int64_t r = 0;
    ffi_call(&cif, FFI_FN(wide), &r, av);
    printf("wide %lld direct %lld\n", (long long)r, (long long)wide(a, b, c));
  }
  {
    ffi_type *at[] = {&ffi_type_float, &ffi_type_double, &ffi_type_float};
    prep(&cif, 3, &ffi_type_double, at, "floats");
    float a = 1.5f, c = -0.125f; double b = 3.25;
    void *av[] = {&a, &b, &c};
    double r = 0;
    ffi_call(&cif, FFI_FN(floats), &r, av);
    printf("floats %.17g direct %.17g\n", r, floats(a, b, c));
    ffi_type *at2[] = {&ffi_type_float, &ffi_type_float};
    prep(&cif, 2, &ffi_type_float, at2, "floats_f");
    float x = 1.0f, y = 3.0f, fr = 0;
    void *av2[] = {&x, &y};
    ffi_call(&cif, FFI_FN(floats_f), &fr, av2);
    printf("floats_f %.9g direct %.9g\n", fr, floats_f(x, y));
  }
  {
    ffi_type *at[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_sint, &ffi_type_double,
                      &ffi_type_sint, &ffi_type_double, &ffi_type_sint, &ffi_type_double,
                      &ffi_type_sint, &ffi_type_double, &ffi_type_sint64, &ffi_type_float};
    prep(&cif, 12, &ffi_type_double, at, "many");
    int a = 1, c = 3, e = 5, g = 7, i = 9; double b = 2.5, d = 4.5, f = 6.5, h = 8.5, j = 10.5;
    int64_t k = 1LL << 40; float l = 0.5f;
    void *av[] = {&a, &b, &c, &d, &e, &f, &g, &h, &i, &j, &k, &l};
    double r = 0;
    ffi_call(&cif, FFI_FN(many), &r, av);
    printf("many %.17g direct %.17g\n", r, many(a, b, c, d, e, f, g, h, i, j, k, l));
  }
  {
    ffi_type *at[] = {&ffi_type_longdouble, &ffi_type_longdouble};
    prep(&cif, 2, &ffi_type_longdouble, at, "ld_mul");
    long double a = 1.5L, b = -2.75L, r = 0;
    void *av[] = {&a, &b};
    ffi_call(&cif, FFI_FN(ld_mul), &r, av);
    printf("ld_mul %.17g direct %.17g\n", (double)r, (double)ld_mul(a, b));
    ffi_type *at2[] = {&ffi_type_sint, &ffi_type_longdouble};
    prep(&cif, 2, &ffi_type_longdouble, at2, "ld_mix");
    int n = 10;
    void *av2[] = {&n, &b};
    ffi_call(&cif, FFI_FN(ld_mix), &r, av2);
    printf("ld_mix %.17g direct %.17g\n", (double)r, (double)ld_mix(n, b));
  }
}

static void structs(void) {
  ffi_cif cif;
  {
    ffi_type *at[] = {&small_type, &ffi_type_sint};
    prep(&cif, 2, &small_type, at, "small_struct");
    printf("small size %zu align %u\n", small_type.size, small_type.alignment);
    struct small s = {-1234, 77}, r = {0, 0};
    int k = 3;
    void *av[] = {&s, &k};
    ffi_call(&cif, FFI_FN(small_struct), &r, av);
    struct small d = small_struct(s, k);
    printf("small_struct %d %d direct %d %d\n", r.a, r.b, d.a, d.b);
  }
  {
    ffi_type *at[] = {&big_type, &big_type};
    prep(&cif, 2, &big_type, at, "big_struct");
    printf("big size %zu align %u\n", big_type.size, big_type.alignment);
    struct big x = {1LL << 50, 1.25, 10, 20, 30, 40}, y = {-5, 4.0, 3, -2, 0, 9}, r;
    memset(&r, 0, sizeof r);
    void *av[] = {&x, &y};
    ffi_call(&cif, FFI_FN(big_struct), &r, av);
    struct big d = big_struct(x, y);
    printf("big_struct %lld %.17g %d %d %d %d direct %lld %.17g %d %d %d %d\n",
           (long long)r.a, r.b, r.c, r.d, r.e, r.f, (long long)d.a, d.b, d.c, d.d, d.e, d.f);
    printf("big unchanged %lld %d\n", (long long)x.a, y.f);
  }
  {
    ffi_type *at[] = {&outer_type};
    prep(&cif, 1, &ffi_type_double, at, "nested_sum");
    printf("outer size %zu align %u\n", outer_type.size, outer_type.alignment);
    struct outer o = {{300, -4}, 0.75, {-9, 2.5f}};
    double r = 0;
    void *av[] = {&o};
    ffi_call(&cif, FFI_FN(nested_sum), &r, av);
    printf("nested_sum %.17g direct %.17g\n", r, nested_sum(o));
    ffi_type *at2[] = {&ffi_type_sint32};
    prep(&cif, 1, &outer_type, at2, "nested_make");
    int32_t k = 11;
    struct outer m;
    memset(&m, 0, sizeof m);
    void *av2[] = {&k};
    ffi_call(&cif, FFI_FN(nested_make), &m, av2);
    struct outer dm = nested_make(k);
    printf("nested_make %d %d %.17g %d %.9g direct %d %d %.17g %d %.9g\n", m.s.a, m.s.b, m.d,
           m.in.x, m.in.y, dm.s.a, dm.s.b, dm.d, dm.in.x, dm.in.y);
  }
  {
    ffi_type *at[] = {&one_type};
    prep(&cif, 1, &one_type, at, "single");
    struct one a = {21.5}, r = {0};
    void *av[] = {&a};
    ffi_call(&cif, FFI_FN(single), &r, av);
    printf("single %.17g direct %.17g\n", r.v, single(a).v);
  }
  {
    ffi_type *at[] = {&ffi_type_pointer, &ffi_type_sint32};
    prep(&cif, 2, &ffi_type_void, at, "set_through");
    int32_t target = 0, v = -12;
    int32_t *p = &target;
    void *av[] = {&p, &v};
    ffi_call(&cif, FFI_FN(set_through), NULL, av);
    printf("set_through %d\n", target);
  }
  {
    size_t offs[3];
    ffi_status st = ffi_get_struct_offsets(FFI_DEFAULT_ABI, &outer_type, offs);
    printf("offsets outer %d: %zu %zu %zu\n", (int)st, offs[0], offs[1], offs[2]);
    size_t bo[6];
    st = ffi_get_struct_offsets(FFI_DEFAULT_ABI, &big_type, bo);
    printf("offsets big %d: %zu %zu %zu %zu %zu %zu\n", (int)st, bo[0], bo[1], bo[2], bo[3],
           bo[4], bo[5]);
    printf("offsets scalar %d\n", (int)ffi_get_struct_offsets(FFI_DEFAULT_ABI,
                                                               &ffi_type_sint32, NULL));
  }
}

static void variadic(void) {
  ffi_cif cif;
  ffi_type *at[] = {&ffi_type_pointer, &ffi_type_sint, &ffi_type_double, &ffi_type_sint64,
                    &pair_type};
  ffi_status st = ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 5, &ffi_type_double, at);
  printf("var prep %d\n", (int)st);
  const char *fmt = "idlp";
  int i = -40; double d = 0.125; long long l = 1LL << 35; struct pair p = {7, 3};
  void *av[] = {&fmt, &i, &d, &l, &p};
  double r = 0;
  ffi_call(&cif, FFI_FN(vmix), &r, av);
  printf("vmix %.17g direct %.17g\n", r, vmix(fmt, i, d, l, p));
  st = ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 1, &ffi_type_double, at);
  const char *empty = "";
  void *av0[] = {&empty};
  ffi_call(&cif, FFI_FN(vmix), &r, av0);
  printf("vmix none %d %.17g\n", (int)st, r);
  ffi_type *bad_float[] = {&ffi_type_pointer, &ffi_type_float};
  ffi_type *bad_char[] = {&ffi_type_pointer, &ffi_type_sint8};
  printf("var float %d\n", (int)ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2,
                                                 &ffi_type_double, bad_float));
  printf("var char %d\n", (int)ffi_prep_cif_var(&cif, FFI_DEFAULT_ABI, 1, 2,
                                                &ffi_type_double, bad_char));
}

static void statuses(void) {
  ffi_cif cif;
  ffi_type *at[] = {&ffi_type_sint32};
  printf("bad abi %d\n", (int)ffi_prep_cif(&cif, FFI_LAST_ABI, 1, &ffi_type_sint32, at));
  static ffi_type no_elems = {0, 0, FFI_TYPE_STRUCT, NULL};
  ffi_type *bt[] = {&no_elems};
  printf("bad struct %d\n", (int)ffi_prep_cif(&cif, FFI_DEFAULT_ABI, 1, &ffi_type_sint32, bt));
  printf("codes %d %d %d %d\n", FFI_OK, FFI_BAD_TYPEDEF, FFI_BAD_ABI, FFI_BAD_ARGTYPE);
}

/* ---- closures: each reads libffi's argument array and writes the result ---- */
static void cl_small(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif;
  int8_t v = small_ints(*(int8_t *)args[0], *(uint8_t *)args[1], *(int16_t *)args[2],
                        *(uint16_t *)args[3]);
  *(ffi_sarg *)ret = v + *(int *)ud;
}
static void cl_unsigned(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(ffi_arg *)ret = small_unsigned(*(uint8_t *)args[0], *(uint16_t *)args[1]);
}
static void cl_wide(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(int64_t *)ret = wide(*(int64_t *)args[0], *(uint64_t *)args[1], *(int32_t *)args[2]);
}
static void cl_floats(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(double *)ret = floats(*(float *)args[0], *(double *)args[1], *(float *)args[2]);
}
static void cl_many(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)ud;
  double s = 0;
  for (unsigned i = 0; i < cif->nargs; i++) {
    ffi_type *t = cif->arg_types[i];
    double v = t == &ffi_type_double ? *(double *)args[i]
               : t == &ffi_type_float ? *(float *)args[i]
               : t == &ffi_type_sint64 ? (double)*(int64_t *)args[i] : *(int *)args[i];
    s += v * (i + 1);
  }
  *(double *)ret = s;
}
static void cl_ld(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(long double *)ret = ld_mul(*(long double *)args[0], *(long double *)args[1]);
}
static void cl_small_struct(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(struct small *)ret = small_struct(*(struct small *)args[0], *(int *)args[1]);
}
static void cl_big(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(struct big *)ret = big_struct(*(struct big *)args[0], *(struct big *)args[1]);
}
static void cl_nested(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(double *)ret = nested_sum(*(struct outer *)args[0]) * 10;
}
static void cl_single(ffi_cif *cif, void *ret, void **args, void *ud) {
  (void)cif; (void)ud;
  *(struct one *)ret = single(*(struct one *)args[0]);
}

static void *closure(ffi_cif *cif, void (*fun)(ffi_cif *, void *, void **, void *),
                     void *ud, const char *what) {
  void *code = NULL;
  ffi_closure *c = ffi_closure_alloc(sizeof(ffi_closure), &code);
  if (c == NULL) {
    printf("FAIL closure_alloc %s\n", what);
    return NULL;
  }
  ffi_status st = ffi_prep_closure_loc(c, cif, fun, ud, code);
  if (st != FFI_OK) printf("FAIL prep_closure %s: %d\n", what, (int)st);
  return code;
}

static void closures(void) {
  ffi_cif c1, c2, c3, c4, c5, c6, c7, c8, c9, c10;
  int bias = 1000;
  ffi_type *a1[] = {&ffi_type_sint8, &ffi_type_uint8, &ffi_type_sint16, &ffi_type_uint16};
  prep(&c1, 4, &ffi_type_sint8, a1, "cl small");
  int8_t (*f1)(int8_t, uint8_t, int16_t, uint16_t) = closure(&c1, cl_small, &bias, "small");
  printf("closure small %d direct %d\n", f1(-100, 200, -300, 60000),
         (int8_t)(small_ints(-100, 200, -300, 60000) + bias));
  ffi_type *a2[] = {&ffi_type_uint8, &ffi_type_uint16};
  prep(&c2, 2, &ffi_type_uint16, a2, "cl unsigned");
  uint16_t (*f2)(uint8_t, uint16_t) = closure(&c2, cl_unsigned, NULL, "unsigned");
  printf("closure unsigned %u direct %u\n", f2(250, 65000), small_unsigned(250, 65000));
  ffi_type *a3[] = {&ffi_type_sint64, &ffi_type_uint64, &ffi_type_sint32};
  prep(&c3, 3, &ffi_type_sint64, a3, "cl wide");
  int64_t (*f3)(int64_t, uint64_t, int32_t) = closure(&c3, cl_wide, NULL, "wide");
  printf("closure wide %lld direct %lld\n", (long long)f3(-99, 1ULL << 63, 5),
         (long long)wide(-99, 1ULL << 63, 5));
  ffi_type *a4[] = {&ffi_type_float, &ffi_type_double, &ffi_type_float};
  prep(&c4, 3, &ffi_type_double, a4, "cl floats");
  double (*f4)(float, double, float) = closure(&c4, cl_floats, NULL, "floats");
  printf("closure floats %.17g direct %.17g\n", f4(0.5f, 6.0, 0.25f), floats(0.5f, 6.0, 0.25f));
  ffi_type *a5[] = {&ffi_type_sint, &ffi_type_double, &ffi_type_sint, &ffi_type_double,
                    &ffi_type_sint, &ffi_type_double, &ffi_type_sint, &ffi_type_double,
                    &ffi_type_sint, &ffi_type_double, &ffi_type_sint64, &ffi_type_float};
  prep(&c5, 12, &ffi_type_double, a5, "cl many");
  double (*f5)(int, double, int, double, int, double, int, double, int, double, int64_t,
               float) = closure(&c5, cl_many, NULL, "many");
  printf("closure many %.17g\n", f5(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12.5f));
  ffi_type *a6[] = {&ffi_type_longdouble, &ffi_type_longdouble};
  prep(&c6, 2, &ffi_type_longdouble, a6, "cl ld");
  long double (*f6)(long double, long double) = closure(&c6, cl_ld, NULL, "ld");
  printf("closure ld %.17g direct %.17g\n", (double)f6(3.5L, 4.0L), (double)ld_mul(3.5L, 4.0L));
  ffi_type *a7[] = {&small_type, &ffi_type_sint};
  prep(&c7, 2, &small_type, a7, "cl small_struct");
  struct small (*f7)(struct small, int) = closure(&c7, cl_small_struct, NULL, "small_struct");
  struct small s = {99, -3}, sr = f7(s, 4), sd = small_struct(s, 4);
  printf("closure small_struct %d %d direct %d %d\n", sr.a, sr.b, sd.a, sd.b);
  ffi_type *a8[] = {&big_type, &big_type};
  prep(&c8, 2, &big_type, a8, "cl big");
  struct big (*f8)(struct big, struct big) = closure(&c8, cl_big, NULL, "big");
  struct big x = {7, 0.5, 1, 2, 3, 4}, y = {8, 3.0, 5, 6, 7, 8};
  struct big br = f8(x, y), bd = big_struct(x, y);
  printf("closure big %lld %.17g %d %d %d %d direct %lld %.17g %d %d %d %d\n", (long long)br.a,
         br.b, br.c, br.d, br.e, br.f, (long long)bd.a, bd.b, bd.c, bd.d, bd.e, bd.f);
  ffi_type *a9[] = {&outer_type};
  prep(&c9, 1, &ffi_type_double, a9, "cl nested");
  double (*f9)(struct outer) = closure(&c9, cl_nested, NULL, "nested");
  struct outer o = {{-5, 6}, 1.5, {100, -0.5f}};
  printf("closure nested %.17g direct %.17g\n", f9(o), nested_sum(o) * 10);
  ffi_type *a10[] = {&one_type};
  prep(&c10, 1, &one_type, a10, "cl single");
  struct one (*f10)(struct one) = closure(&c10, cl_single, NULL, "single");
  struct one ov = {-0.75};
  printf("closure single %.17g direct %.17g\n", f10(ov).v, single(ov).v);
  /* A closure is a C function pointer: ffi_call can call it too. */
  ffi_type *at[] = {&ffi_type_float, &ffi_type_double, &ffi_type_float};
  float fa = 2.0f, fc = 1.0f; double fb = 0.5, fr = 0;
  void *av[] = {&fa, &fb, &fc};
  ffi_call(&c4, FFI_FN(f4), &fr, av);
  (void)at;
  printf("ffi_call of closure %.17g\n", fr);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  calls();
  structs();
  variadic();
  statuses();
  closures();
  printf("done\n");
  return 0;
}
