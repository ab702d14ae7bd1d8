/* M2RL native merge kernels: the element-wise loops of weight merging (weighted sums, task arithmetic, TIES sign
 * election with a fused magnitude trim, magnitude histograms for exact top-k thresholds, task-vector statistics).
 *
 * Each kernel reproduces, operation for operation, the TypeScript loop it replaces in @m2rl/mergers
 * (src/methods/common.ts): products and sums in double, float32 rounding exactly where the TypeScript code calls
 * Math.fround or stores into a Float32Array, no fused multiply-add (-ffp-contract=off). The results are therefore
 * bitwise equal to the TypeScript fallback, which the tests check. The gain is vectorisation: the loops are
 * written so that GCC turns them into SIMD code for a fixed model count (1 to 4 are specialised), and there is no
 * bounds check or deoptimisation.
 *
 * N-API only, no other library. Sizes are checked against the views' lengths, so a wrong call throws instead of
 * writing out of bounds. */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_MODELS 64
#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "m2rl-merge: N-API call failed: " #call); return NULL; } } while (0)
#define FAIL(msg) do { napi_throw_error(env, NULL, "m2rl-merge: " msg); return NULL; } while (0)
#define ARGS(n) size_t argc = n; napi_value argv[n]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); if (argc < n) FAIL("too few arguments")
#define INLINE static inline __attribute__((always_inline))
/* Calls KERNEL(M) with M a compile-time constant for 1 to 4 models (so GCC can vectorise each instance), else with
 * the runtime count. */
#define FOR_MODEL_COUNT(m, KERNEL)              \
  switch (m) {                                  \
    case 1: KERNEL(1); break;                   \
    case 2: KERNEL(2); break;                   \
    case 3: KERNEL(3); break;                   \
    case 4: KERNEL(4); break;                   \
    default: KERNEL((int)(m));                  \
  }

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **p, size_t *len) {
  napi_typedarray_type t; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &t, len, p, &ab, &off) != napi_ok || t != want) return 0;
  return 1;
}
static int f32(napi_env env, napi_value v, float **p, size_t *len) { return typed(env, v, napi_float32_array, (void **)p, len); }
static int f64(napi_env env, napi_value v, double **p, size_t *len) { return typed(env, v, napi_float64_array, (void **)p, len); }

/* An array of Float32Arrays, each of length n (n = the first one's length when *n == SIZE_MAX). */
static int f32_list(napi_env env, napi_value arr, const float **out, uint32_t *m, size_t *n) {
  bool is; if (napi_is_array(env, arr, &is) != napi_ok || !is) return 0;
  if (napi_get_array_length(env, arr, m) != napi_ok || *m == 0 || *m > MAX_MODELS) return 0;
  for (uint32_t i = 0; i < *m; i++) {
    napi_value e; float *p; size_t len;
    if (napi_get_element(env, arr, i, &e) != napi_ok || !f32(env, e, &p, &len)) return 0;
    if (*n == SIZE_MAX) *n = len;
    if (len != *n) return 0;
    out[i] = p;
  }
  return 1;
}
static double num(napi_env env, napi_value v) { double x = 0; napi_get_value_double(env, v, &x); return x; }
static bool flag(napi_env env, napi_value v) { bool x = false; napi_get_value_bool(env, v, &x); return x; }

/* ---- weightedSum(out, xs[], w: Float64Array, scale): out[j] = (sum_i w_i x_i[j]) * scale ---------------------- */
INLINE void wsum_m(float *restrict out, const float *const *xs, const double *w, double scale, size_t n, int M) {
  for (size_t j = 0; j < n; j++) {
    double s = w[0] * (double)xs[0][j]; /* first term, not 0 + first term: keeps the sign of a zero */
    for (int i = 1; i < M; i++) s += w[i] * (double)xs[i][j];
    out[j] = (float)(s * scale);
  }
}
static napi_value weighted_sum(napi_env env, napi_callback_info info) {
  ARGS(4);
  const float *xs[MAX_MODELS]; uint32_t m; size_t n = SIZE_MAX, on, wn; float *out; double *w;
  if (!f32_list(env, argv[1], xs, &m, &n)) FAIL("weightedSum: xs must be 1-64 Float32Arrays of one length");
  if (!f32(env, argv[0], &out, &on) || on != n) FAIL("weightedSum: out must be a Float32Array of the inputs' length");
  if (!f64(env, argv[2], &w, &wn) || wn != m) FAIL("weightedSum: w must be a Float64Array with one weight per input");
  double scale = num(env, argv[3]);
#define WSUM(M) wsum_m(out, xs, w, scale, n, M)
  FOR_MODEL_COUNT(m, WSUM)
#undef WSUM
  return NULL;
}

/* The arguments (out, base, tensors[], w) that task arithmetic, combine, consensus and erase share, checked:
 * 1-64 Float32Arrays of one length n, out and base of length n, one weight per tensor. Throws and returns 0 if not. */
typedef struct { float *out, *base; const float *xs[MAX_MODELS]; uint32_t m; size_t n; double *w; } obw_t;
static int parse_obw(napi_env env, napi_value *argv, obw_t *a, const char *fn) {
  char msg[160]; size_t on, bn, wn;
  a->n = SIZE_MAX;
  if (!f32_list(env, argv[2], a->xs, &a->m, &a->n)) {
    snprintf(msg, sizeof msg, "m2rl-merge: %s: the tensors must be 1-64 Float32Arrays of one length", fn);
  } else if (!f32(env, argv[0], &a->out, &on) || on != a->n || !f32(env, argv[1], &a->base, &bn) || bn != a->n) {
    snprintf(msg, sizeof msg, "m2rl-merge: %s: out and base must be Float32Arrays of the tensors' length", fn);
  } else if (!f64(env, argv[3], &a->w, &wn) || wn != a->m) {
    snprintf(msg, sizeof msg, "m2rl-merge: %s: w must be a Float64Array with one value per delta", fn);
  } else {
    return 1;
  }
  napi_throw_error(env, NULL, msg);
  return 0;
}

/* ---- taskArithmetic(out, base, xs[], w, scale): out[j] = b + scale * sum_i w_i (x_i[j] - b), b = base[j] ------- */
INLINE void ta_m(float *restrict out, const float *restrict base, const float *const *xs, const double *w, double scale,
                 size_t n, int M) {
  for (size_t j = 0; j < n; j++) {
    double b = base[j], s = w[0] * ((double)xs[0][j] - b);
    for (int i = 1; i < M; i++) s += w[i] * ((double)xs[i][j] - b);
    out[j] = (float)(b + scale * s);
  }
}
static napi_value task_arithmetic(napi_env env, napi_callback_info info) {
  ARGS(5);
  obw_t a;
  if (!parse_obw(env, argv, &a, "taskArithmetic")) return NULL;
  double scale = num(env, argv[4]);
#define TA(M) ta_m(a.out, a.base, a.xs, a.w, scale, a.n, M)
  FOR_MODEL_COUNT(a.m, TA)
#undef TA
  return NULL;
}

/* ---- subtract(out, a, b): out = a - b (float32) ---------------------------------------------------------------- */
static napi_value subtract(napi_env env, napi_callback_info info) {
  ARGS(3);
  float *out, *a, *b; size_t on, an, bn;
  if (!f32(env, argv[0], &out, &on) || !f32(env, argv[1], &a, &an) || !f32(env, argv[2], &b, &bn) || an != on || bn != on)
    FAIL("subtract: out, a, b must be Float32Arrays of one length");
  float *restrict o = out; const float *restrict x = a, *restrict y = b;
  for (size_t j = 0; j < on; j++) o[j] = x[j] - y[j]; /* = fround of the double difference */
  return NULL;
}

/* ---- combine(out, base, deltas[], w, scale): out[j] = b + (sum_i w_i d_i[j]) * scale --------------------------- */
INLINE void comb_m(float *restrict out, const float *restrict base, const float *const *ds, const double *w, double scale,
                   size_t n, int M) {
  for (size_t j = 0; j < n; j++) {
    double s = w[0] * (double)ds[0][j];
    for (int i = 1; i < M; i++) s += w[i] * (double)ds[i][j];
    out[j] = (float)((double)base[j] + s * scale);
  }
}
static napi_value combine(napi_env env, napi_callback_info info) {
  ARGS(5);
  obw_t a;
  if (!parse_obw(env, argv, &a, "combine")) return NULL;
  double scale = num(env, argv[4]);
#define COMB(M) comb_m(a.out, a.base, a.xs, a.w, scale, a.n, M)
  FOR_MODEL_COUNT(a.m, COMB)
#undef COMB
  return NULL;
}

/* ---- consensus(out, base, deltas[], w, thresholds, count, normalize, lambda) ------------------------------------
 * TIES disjoint merge with the magnitude trim fused in, in float32 arithmetic throughout (as a float32 framework
 * computes it), evaluated left to right in model order:
 *   x_i = fround(w_i d_i) * (|d_i| >= t_i)            trimmed, weighted delta
 *   e   = x_0 + x_1 + ...   ("sum")  or  sign(x_0) + sign(x_1) + ...  ("count")      elected sign = sign(e)
 *   m_i = 1 when x_i has e's (nonzero) sign, else 0   (e == 0: no entry agrees, the base is kept)
 *   s   = sum_i x_i m_i,  div = sum_i w_i m_i,  mixed = s / (normalize ? (div == 0 ? 1 : div) : 1)
 *   out = b + fround(lambda * mixed)
 * The masks are multiplications, not branches: random signs would make every branch a misprediction, and GCC
 * vectorises this form when count, normalize and M are compile-time constants (one instance per combination). */
INLINE void cons_m(float *restrict out, const float *restrict base, const float *const *ds, const double *w,
                   const float *t, int count, int normalize, double lambda, size_t n, int M) {
  const float *p[MAX_MODELS]; float wl[MAX_MODELS], tl[MAX_MODELS];
  for (int i = 0; i < M; i++) { p[i] = ds[i]; wl[i] = (float)w[i]; tl[i] = t[i]; }
  const float lam = (float)lambda;
  for (size_t j = 0; j < n; j++) {
    float x[MAX_MODELS];
    float e = 0, ec = 0;
    for (int i = 0; i < M; i++) {
      float d = p[i][j];
      x[i] = (wl[i] * d) * (float)(fabsf(d) >= tl[i]);
      e = e + x[i];
      ec = ec + ((float)(x[i] > 0) - (float)(x[i] < 0));
    }
    e = count ? ec : e;
    float s = 0, div = 0;
    for (int i = 0; i < M; i++) {
      float m = (float)(((x[i] > 0) & (e > 0)) | ((x[i] < 0) & (e < 0)));
      s = s + x[i] * m;
      div = div + wl[i] * m;
    }
    float dd = normalize ? div + (float)(div == 0) : 1.0f;
    out[j] = base[j] + lam * (s / dd);
  }
}
/* one out-of-line function per (count, normalize, M): each small enough for GCC to vectorise its loop */
typedef void (*cons_fn)(float *restrict, const float *restrict, const float *const *, const double *, const float *,
                        double, size_t, int);
#define CONS_FN(C, N, M)                                                                                         \
  static __attribute__((noinline)) void cons_##C##N##M(float *restrict out, const float *restrict base,           \
                                                      const float *const *ds, const double *w, const float *t,   \
                                                      double lambda, size_t n, int m) {                          \
    cons_m(out, base, ds, w, t, C, N, lambda, n, M == 0 ? m : M);                                               \
  }
#define CONS_ROW(C, N) CONS_FN(C, N, 0) CONS_FN(C, N, 1) CONS_FN(C, N, 2) CONS_FN(C, N, 3) CONS_FN(C, N, 4)
CONS_ROW(0, 0) CONS_ROW(0, 1) CONS_ROW(1, 0) CONS_ROW(1, 1)
static const cons_fn CONS_TABLE[2][2][5] = {
  {{cons_000, cons_001, cons_002, cons_003, cons_004}, {cons_010, cons_011, cons_012, cons_013, cons_014}},
  {{cons_100, cons_101, cons_102, cons_103, cons_104}, {cons_110, cons_111, cons_112, cons_113, cons_114}},
};

static napi_value consensus(napi_env env, napi_callback_info info) {
  ARGS(8);
  obw_t a; size_t tn; double *td;
  if (!parse_obw(env, argv, &a, "consensus")) return NULL;
  if (!f64(env, argv[4], &td, &tn) || tn != a.m) FAIL("consensus: thresholds must be a Float64Array with one value per delta");
  float *out = a.out, *base = a.base; const float **ds = a.xs; uint32_t m = a.m; size_t n = a.n; double *w = a.w;
  float t[MAX_MODELS];
  for (uint32_t i = 0; i < m; i++) t[i] = (float)td[i]; /* thresholds are float32 magnitudes (or 0 / +inf) */
  int count = flag(env, argv[5]), normalize = flag(env, argv[6]);
  double lambda = num(env, argv[7]);
  CONS_TABLE[count][normalize][m <= 4 ? m : 0](out, base, ds, w, t, lambda, n, (int)m);
  return NULL;
}

/* ---- erase(out, base, deltas[], w): SCE's sign-consensus weighted mean, in double --------------------------------
 * s = sum_i d_i; m_i = 1 where d_i has s's sign (s == 0: base kept); out = b + sum_i w_i d_i m_i / max(sum_i w_i m_i,
 * 1e-6). Masks are multiplications (no branches), one out-of-line instance per model count. */
INLINE void erase_m(float *restrict out, const float *restrict base, const float *const *ds, const double *w, size_t n,
                    int M) {
  const float *p[MAX_MODELS]; double wl[MAX_MODELS];
  for (int i = 0; i < M; i++) { p[i] = ds[i]; wl[i] = w[i]; }
  for (size_t j = 0; j < n; j++) {
    double s = 0;
    for (int i = 0; i < M; i++) s += (double)p[i][j];
    double num = 0, den = 0;
    for (int i = 0; i < M; i++) {
      double d = p[i][j];
      double k = (double)(((d > 0) & (s > 0)) | ((d < 0) & (s < 0)));
      num += wl[i] * d * k;
      den += wl[i] * k;
    }
    double b = base[j];
    double r = b + num / (den > 1e-6 ? den : 1e-6);
    out[j] = (float)(s == 0 ? b : r);
  }
}
#define ERASE_FN(M)                                                                                              \
  static __attribute__((noinline)) void erase_##M(float *restrict out, const float *restrict base,                \
                                                 const float *const *ds, const double *w, size_t n, int m) {     \
    erase_m(out, base, ds, w, n, M == 0 ? m : M);                                                               \
  }
ERASE_FN(0) ERASE_FN(1) ERASE_FN(2) ERASE_FN(3) ERASE_FN(4)
static napi_value erase(napi_env env, napi_callback_info info) {
  ARGS(4);
  obw_t a;
  if (!parse_obw(env, argv, &a, "erase")) return NULL;
  void (*const fns[5])(float *restrict, const float *restrict, const float *const *, const double *, size_t, int) = {
    erase_0, erase_1, erase_2, erase_3, erase_4};
  fns[a.m <= 4 ? a.m : 0](a.out, a.base, a.xs, a.w, a.n, (int)a.m);
  return NULL;
}

/* ---- absHistogram(x, hist: Float64Array, hi) -------------------------------------------------------------------
 * Radix-select passes over the bit patterns of |x| (monotone in |x|): hi < 0 counts the high 16 bits
 * (hist has 32768 bins); hi >= 0 counts the low 16 bits of the entries whose high 16 bits equal hi (65536 bins). */
static napi_value abs_histogram(napi_env env, napi_callback_info info) {
  ARGS(3);
  float *x; double *h; size_t n, hn;
  if (!f32(env, argv[0], &x, &n) || !f64(env, argv[1], &h, &hn)) FAIL("absHistogram: x must be a Float32Array, hist a Float64Array");
  int64_t hi = 0; napi_get_value_int64(env, argv[2], &hi);
  if (hi >= 0x8000) FAIL("absHistogram: hi must be below 32768");
  if (hn < (hi < 0 ? 32768u : 65536u)) FAIL("absHistogram: hist too short (32768 bins for hi < 0, else 65536)");
  const uint32_t *u = (const uint32_t *)x;
  /* counts in uint32 blocks (at most 2^31 entries per block), added into the double histogram */
  size_t bins = hi < 0 ? 32768 : 65536;
  uint32_t *c = malloc(65536 * sizeof(uint32_t)); /* per call: worker threads share this library */
  if (!c) FAIL("absHistogram: out of memory");
  for (size_t start = 0; start < n; start += (size_t)1 << 31) {
    size_t end = n - start > ((size_t)1 << 31) ? start + ((size_t)1 << 31) : n;
    memset(c, 0, bins * sizeof(uint32_t));
    if (hi < 0) {
      for (size_t j = start; j < end; j++) c[(u[j] & 0x7fffffffu) >> 16]++;
    } else {
      uint32_t want = (uint32_t)hi;
      for (size_t j = start; j < end; j++) {
        uint32_t a = u[j] & 0x7fffffffu;
        if ((a >> 16) == want) c[a & 0xffffu]++;
      }
    }
    for (size_t k = 0; k < bins; k++) h[k] += c[k];
  }
  free(c);
  return NULL;
}

/* ---- trim(x, threshold): x[j] *= (|x[j]| >= threshold) (a dropped negative entry becomes -0) -------------------- */
static napi_value trim(napi_env env, napi_callback_info info) {
  ARGS(2);
  float *x; size_t n;
  if (!f32(env, argv[0], &x, &n)) FAIL("trim: x must be a Float32Array");
  float t = (float)num(env, argv[1]);
  float *restrict p = x;
  for (size_t j = 0; j < n; j++) p[j] = p[j] * (float)(fabsf(p[j]) >= t);
  return NULL;
}

/* ---- updateStats(base, models[], out: Float64Array(m + 2)) -----------------------------------------------------
 * out[i] = number of entries with models[i][j] != base[j]; out[m] = entries changed by at least two models;
 * out[m + 1] = among those, entries where no changed model moved up or all did (one sign). */
INLINE void stats_m(const float *restrict base, const float *const *ms, double *out, size_t n, int M) {
  /* 32-bit lane counters (vectorise 8 entries per AVX2 step), added into doubles every 2^24 entries */
  double nz[MAX_MODELS] = {0}, multi = 0, agree = 0;
  for (size_t s = 0; s < n; s += (size_t)1 << 24) {
    size_t e = n - s < ((size_t)1 << 24) ? n : s + ((size_t)1 << 24);
    uint32_t bnz[MAX_MODELS] = {0}, bmulti = 0, bagree = 0;
    for (size_t j = s; j < e; j++) {
      float b = base[j]; uint32_t c = 0, p = 0;
      for (int i = 0; i < M; i++) {
        uint32_t z = ms[i][j] != b;
        bnz[i] += z; c += z; p += ms[i][j] > b;
      }
      uint32_t both = c >= 2;
      bmulti += both;
      bagree += both & ((p == 0) | (p == c));
    }
    for (int i = 0; i < M; i++) nz[i] += bnz[i];
    multi += bmulti; agree += bagree;
  }
  for (int i = 0; i < M; i++) out[i] = nz[i];
  out[M] = multi; out[M + 1] = agree;
}
static napi_value update_stats(napi_env env, napi_callback_info info) {
  ARGS(3);
  const float *ms[MAX_MODELS]; uint32_t m; size_t n = SIZE_MAX, bn, on; float *base; double *out;
  if (!f32_list(env, argv[1], ms, &m, &n)) FAIL("updateStats: models must be 1-64 Float32Arrays of one length");
  if (!f32(env, argv[0], &base, &bn) || bn != n) FAIL("updateStats: base must be a Float32Array of the models' length");
  if (!f64(env, argv[2], &out, &on) || on != m + 2) FAIL("updateStats: out must be a Float64Array of models + 2");
#define STATS(M) stats_m(base, ms, out, n, M)
  FOR_MODEL_COUNT(m, STATS)
#undef STATS
  return NULL;
}

/* ---- firstNonFinite(xs[]): the first NaN / +-Inf among 1-64 Float32Arrays of one length --------------------------
 * Returns undefined when every value is finite, else [which, index]: the lowest index at which some array holds a
 * non-finite value, and the first array (in order) that does there. A float32 is NaN or +-Inf exactly when its
 * exponent bits are all ones; blocks of 1024 entries are tested with an integer OR (vectorised, one pass over each
 * input), and only a block that holds one is searched entry by entry.
 * firstNonFinite16(u: Uint16Array, mask): index of the first 16-bit float whose exponent bits (mask: 0x7f80 for
 * BF16, 0x7c00 for F16) are all ones, or -1. */
#define NF_BLOCK 1024
INLINE int block_bad32(const uint32_t *restrict u, size_t n) {
  uint32_t acc = 0;
  for (size_t j = 0; j < n; j++) acc |= (uint32_t)((u[j] & 0x7f800000u) == 0x7f800000u);
  return acc != 0;
}
static napi_value first_non_finite(napi_env env, napi_callback_info info) {
  ARGS(1);
  const float *xs[MAX_MODELS]; uint32_t m; size_t n = SIZE_MAX;
  if (!f32_list(env, argv[0], xs, &m, &n)) FAIL("firstNonFinite: xs must be 1-64 Float32Arrays of one length");
  for (size_t s = 0; s < n; s += NF_BLOCK) {
    size_t e = s + NF_BLOCK < n ? s + NF_BLOCK : n;
    int bad = 0;
    for (uint32_t i = 0; i < m; i++) bad |= block_bad32((const uint32_t *)xs[i] + s, e - s);
    if (!bad) continue;
    for (size_t j = s; j < e; j++) {
      for (uint32_t i = 0; i < m; i++) {
        uint32_t u = ((const uint32_t *)xs[i])[j];
        if ((u & 0x7f800000u) == 0x7f800000u) {
          napi_value r, a, b;
          CHECK(napi_create_array_with_length(env, 2, &r));
          CHECK(napi_create_uint32(env, i, &a));
          CHECK(napi_create_double(env, (double)j, &b));
          CHECK(napi_set_element(env, r, 0, a));
          CHECK(napi_set_element(env, r, 1, b));
          return r;
        }
      }
    }
  }
  return NULL;
}
/* scanInputs(xs[], counts: Float64Array | null): firstNonFinite(xs) and, with `counts` (m + 2 entries for
 * xs = [base, ...models]), updateStats(base, models, counts) in the same pass, block by block, so every input is
 * read once for both; the counts cover every entry even when a non-finite one was found. */
static napi_value scan_inputs(napi_env env, napi_callback_info info) {
  ARGS(2);
  const float *xs[MAX_MODELS]; uint32_t m; size_t n = SIZE_MAX, cn = 0;
  if (!f32_list(env, argv[0], xs, &m, &n)) FAIL("scanInputs: xs must be 1-64 Float32Arrays of one length");
  double *counts = NULL;
  napi_valuetype t; CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_null && t != napi_undefined) {
    if (!f64(env, argv[1], &counts, &cn) || m < 2 || cn != m + 1)
      FAIL("scanInputs: counts must be a Float64Array of (models + 2) entries, xs = [base, ...models]");
  }
  double total[MAX_MODELS + 2] = {0}, part[MAX_MODELS + 2];
  int64_t found_which = -1; size_t found_index = 0;
  for (size_t s = 0; s < n; s += NF_BLOCK) {
    size_t e = s + NF_BLOCK < n ? s + NF_BLOCK : n;
    if (found_which < 0) {
      int bad = 0;
      for (uint32_t i = 0; i < m; i++) bad |= block_bad32((const uint32_t *)xs[i] + s, e - s);
      for (size_t j = s; bad && j < e && found_which < 0; j++) {
        for (uint32_t i = 0; i < m; i++) {
          if ((((const uint32_t *)xs[i])[j] & 0x7f800000u) == 0x7f800000u) { found_which = i; found_index = j; break; }
        }
      }
    }
    if (counts) {
      const float *ms[MAX_MODELS];
      for (uint32_t i = 1; i < m; i++) ms[i - 1] = xs[i] + s;
#define STATS(M) stats_m(xs[0] + s, ms, part, e - s, M)
      FOR_MODEL_COUNT(m - 1, STATS)
#undef STATS
      for (uint32_t i = 0; i < m + 1; i++) total[i] += part[i];
    }
  }
  if (counts) for (uint32_t i = 0; i < m + 1; i++) counts[i] = total[i];
  if (found_which < 0) return NULL;
  napi_value r, a, b;
  CHECK(napi_create_array_with_length(env, 2, &r));
  CHECK(napi_create_uint32(env, (uint32_t)found_which, &a));
  CHECK(napi_create_double(env, (double)found_index, &b));
  CHECK(napi_set_element(env, r, 0, a));
  CHECK(napi_set_element(env, r, 1, b));
  return r;
}
static napi_value first_non_finite16(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint16_t *src; size_t n;
  if (!typed(env, argv[0], napi_uint16_array, (void **)&src, &n)) FAIL("firstNonFinite16: u must be a Uint16Array");
  uint32_t mask = (uint32_t)num(env, argv[1]) & 0xffffu;
  const uint16_t *restrict u = src;
  double found = -1;
  for (size_t s = 0; s < n && found < 0; s += NF_BLOCK) {
    size_t e = s + NF_BLOCK < n ? s + NF_BLOCK : n;
    uint32_t acc = 0;
    for (size_t j = s; j < e; j++) acc |= (uint32_t)((u[j] & mask) == mask);
    if (!acc) continue;
    for (size_t j = s; j < e; j++) if ((u[j] & mask) == mask) { found = (double)j; break; }
  }
  napi_value r;
  CHECK(napi_create_double(env, found, &r));
  return r;
}

/* ---- BF16 codec (@m2rl/core's FloatCodec): bitwise equal to core's loops ------------------------------------
 * decodeBf16(src: Uint16Array, dst: Float32Array): dst bits = src << 16.
 * encodeBf16(src: Float32Array, dst: Uint16Array): round to nearest even; a NaN keeps its high bits, made quiet. */
static napi_value decode_bf16(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint16_t *src; float *dst; size_t n, m;
  if (!typed(env, argv[0], napi_uint16_array, (void **)&src, &n) || !f32(env, argv[1], &dst, &m) || m != n)
    FAIL("decodeBf16: src must be a Uint16Array and dst a Float32Array of its length");
  const uint16_t *restrict s = src; uint32_t *restrict d = (uint32_t *)dst;
  for (size_t j = 0; j < n; j++) d[j] = (uint32_t)s[j] << 16;
  return NULL;
}
static napi_value encode_bf16(napi_env env, napi_callback_info info) {
  ARGS(2);
  float *src; uint16_t *dst; size_t n, m;
  if (!f32(env, argv[0], &src, &n) || !typed(env, argv[1], napi_uint16_array, (void **)&dst, &m) || m != n)
    FAIL("encodeBf16: src must be a Float32Array and dst a Uint16Array of its length");
  const uint32_t *restrict s = (const uint32_t *)src; uint16_t *restrict d = dst;
  for (size_t j = 0; j < n; j++) {
    uint32_t u = s[j];
    uint32_t rne = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    uint32_t nan = (u >> 16) | 0x40u;
    d[j] = (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? nan : rne);
  }
  return NULL;
}

/* ---- Memory-mapped inputs -------------------------------------------------------------------------------------
 * mapFile(path): the whole file mapped copy-on-write (MAP_PRIVATE, read and write: a method that writes into an
 * input changes its own copy, never the file), as an external ArrayBuffer that unmaps itself when collected;
 * undefined when the file cannot be mapped. Tensors are then views of the page cache: no read() copy.
 * populate(buf, offset, length) -> Promise: maps the pages of that range in (MADV_POPULATE_READ, else one read per
 * page) on a thread of libuv's pool, so the next tensor's page faults are taken while the current one is merged.
 * release(buf, offset, length): drops the whole pages inside that range from this process (MADV_DONTNEED; the page
 * cache keeps them), so resident memory stays at the tensors in flight. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
typedef struct { void *base; size_t length; } mapping_t;
static void unmap_cb(napi_env env, void *data, void *hint) {
  (void)env; (void)data;
  mapping_t *m = (mapping_t *)hint;
  munmap(m->base, m->length);
  free(m);
}
static napi_value map_file(napi_env env, napi_callback_info info) {
  ARGS(1);
  char path[4096]; size_t len;
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1)
    FAIL("mapFile: path must be a string");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size <= 0) { close(fd); return NULL; }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return NULL;
  mapping_t *m = malloc(sizeof *m);
  if (!m) { munmap(p, (size_t)st.st_size); return NULL; }
  m->base = p; m->length = (size_t)st.st_size;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, m->length, unmap_cb, m, &ab) != napi_ok) {
    munmap(p, m->length); free(m);
    return NULL;
  }
  return ab;
}
/* The page-aligned [start, end) inside buf's [offset, offset + length) (outward with `outward`). */
static int page_range(napi_env env, napi_value *argv, char **start, size_t *n, int outward) {
  void *data; size_t blen;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &blen) != napi_ok) return 0;
  double off = num(env, argv[1]), len = num(env, argv[2]);
  if (!(off >= 0 && len >= 0 && off + len <= (double)blen)) return 0;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  uintptr_t a = (uintptr_t)data + (size_t)off, b = a + (size_t)len;
  uintptr_t lo = (uintptr_t)data, hi = lo + blen;
  if (outward) { a &= ~(page - 1); b = (b + page - 1) & ~(page - 1); if (a < lo) a = lo; if (b > hi) b = hi; }
  else { a = (a + page - 1) & ~(page - 1); b &= ~(page - 1); }
  *start = (char *)a; *n = b > a ? b - a : 0;
  return 1;
}
typedef struct { char *start; size_t n; napi_deferred deferred; napi_async_work work; napi_ref keep; } populate_t;
static void populate_exec(napi_env env, void *data) {
  (void)env;
  populate_t *t = (populate_t *)data;
  if (t->n == 0) return;
  if (madvise(t->start, t->n, MADV_POPULATE_READ) == 0) return;
  /* older kernels: touch one byte per page */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  volatile char sink = 0;
  for (size_t k = 0; k < t->n; k += page) sink ^= t->start[k];
  (void)sink;
}
static void populate_done(napi_env env, napi_status status, void *data) {
  (void)status;
  populate_t *t = (populate_t *)data;
  napi_value undef;
  napi_get_undefined(env, &undef);
  napi_resolve_deferred(env, t->deferred, undef);
  napi_delete_reference(env, t->keep);
  napi_delete_async_work(env, t->work);
  free(t);
}
static napi_value populate(napi_env env, napi_callback_info info) {
  ARGS(3);
  populate_t *t = calloc(1, sizeof *t);
  if (!t) FAIL("populate: out of memory");
  if (!page_range(env, argv, &t->start, &t->n, 1)) { free(t); FAIL("populate: (ArrayBuffer, offset, length) inside it"); }
  napi_value promise, name;
  CHECK(napi_create_promise(env, &t->deferred, &promise));
  CHECK(napi_create_reference(env, argv[0], 1, &t->keep)); /* the mapping stays alive until the pages are in */
  CHECK(napi_create_string_utf8(env, "m2rl-populate", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, populate_exec, populate_done, t, &t->work));
  CHECK(napi_queue_async_work(env, t->work));
  return promise;
}
static napi_value release_pages(napi_env env, napi_callback_info info) {
  ARGS(3);
  char *start; size_t n;
  if (!page_range(env, argv, &start, &n, 0)) FAIL("release: (ArrayBuffer, offset, length) inside it");
  if (n > 0) madvise(start, n, MADV_DONTNEED);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"weightedSum", 0, weighted_sum, 0, 0, 0, napi_default, 0},
    {"taskArithmetic", 0, task_arithmetic, 0, 0, 0, napi_default, 0},
    {"subtract", 0, subtract, 0, 0, 0, napi_default, 0},
    {"combine", 0, combine, 0, 0, 0, napi_default, 0},
    {"consensus", 0, consensus, 0, 0, 0, napi_default, 0},
    {"erase", 0, erase, 0, 0, 0, napi_default, 0},
    {"absHistogram", 0, abs_histogram, 0, 0, 0, napi_default, 0},
    {"trim", 0, trim, 0, 0, 0, napi_default, 0},
    {"updateStats", 0, update_stats, 0, 0, 0, napi_default, 0},
    {"decodeBf16", 0, decode_bf16, 0, 0, 0, napi_default, 0},
    {"encodeBf16", 0, encode_bf16, 0, 0, 0, napi_default, 0},
    {"firstNonFinite", 0, first_non_finite, 0, 0, 0, napi_default, 0},
    {"firstNonFinite16", 0, first_non_finite16, 0, 0, 0, napi_default, 0},
    {"scanInputs", 0, scan_inputs, 0, 0, 0, napi_default, 0},
    {"mapFile", 0, map_file, 0, 0, 0, napi_default, 0},
    {"populate", 0, populate, 0, 0, 0, napi_default, 0},
    {"release", 0, release_pages, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
