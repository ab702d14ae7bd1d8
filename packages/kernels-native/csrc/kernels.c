/* M2RL native kernel pack: float32 kernels that work in place on views of the tfjs wasm heap.
 * N-API only (node_api.h from the system's Node headers), OpenBLAS for matrix products.
 * Every function takes typed-array views plus sizes; shapes are checked on the TypeScript side, and again here
 * against the views' lengths, so a wrong call throws instead of writing out of bounds. */
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

/* multiply-adds below which a product runs single-threaded (set with smallGemm(); default 2^22) */
static double small_gemm = 4194304.0;

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "m2rl-native: N-API call failed: " #call); return NULL; } } while (0)
#define FAIL(msg) do { napi_throw_error(env, NULL, "m2rl-native: " msg); return NULL; } while (0)

typedef struct { void *data; size_t length; napi_typedarray_type type; } view_t;

static int get_view(napi_env env, napi_value v, view_t *out) {
  napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, v, &out->type, &out->length, &out->data, &ab, &off) != napi_ok) return 0;
  return 1;
}
static int get_f32(napi_env env, napi_value v, float **p, size_t need) {
  view_t w; if (!get_view(env, v, &w) || w.type != napi_float32_array || w.length < need) return 0;
  *p = (float *)w.data; return 1;
}
static int get_i32(napi_env env, napi_value v, int32_t **p, size_t need) {
  view_t w; if (!get_view(env, v, &w) || w.type != napi_int32_array || w.length < need) return 0;
  *p = (int32_t *)w.data; return 1;
}
static int64_t get_int(napi_env env, napi_value v) { int64_t x = 0; napi_get_value_int64(env, v, &x); return x; }
static double get_num(napi_env env, napi_value v) { double x = 0; napi_get_value_double(env, v, &x); return x; }

#define ARGS(n) size_t argc = n; napi_value argv[n]; CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL)); if (argc < n) FAIL("too few arguments")

/* matmul(a, b, c, batchA, batchB, M, N, K, transA, transB, bias|null, accumulate)
 * c[i] = op(a[i]) @ op(b[i]) (+ bias broadcast over rows) for i < max(batchA, batchB); a batch of 1 broadcasts. */
static napi_value matmul(napi_env env, napi_callback_info info) {
  ARGS(12);
  int64_t bA = get_int(env, argv[3]), bB = get_int(env, argv[4]), M = get_int(env, argv[5]), N = get_int(env, argv[6]),
          K = get_int(env, argv[7]);
  bool tA, tB, acc; napi_get_value_bool(env, argv[8], &tA); napi_get_value_bool(env, argv[9], &tB);
  napi_get_value_bool(env, argv[11], &acc);
  int64_t batch = bA > bB ? bA : bB;
  if ((bA != 1 && bA != batch) || (bB != 1 && bB != batch) || M < 0 || N < 0 || K < 0) FAIL("matmul: bad batch or size");
  float *a, *b, *c, *bias = NULL;
  if (!get_f32(env, argv[0], &a, bA * M * K) || !get_f32(env, argv[1], &b, bB * K * N) || !get_f32(env, argv[2], &c, batch * M * N))
    FAIL("matmul: a, b, c must be Float32Arrays of the stated sizes");
  napi_valuetype bt; napi_typeof(env, argv[10], &bt);
  if (bt != napi_null && bt != napi_undefined && !get_f32(env, argv[10], &bias, N)) FAIL("matmul: bias must be a Float32Array of N");
  int64_t sA = bA == 1 ? 0 : M * K, sB = bB == 1 ? 0 : K * N;
  /* Small products (decode steps, per-head attention) lose more to waking and syncing BLAS threads than they
   * gain, badly so when the cores are shared: run them on the calling thread. */
  int threads = openblas_get_num_threads();
  int single = threads > 1 && (double)M * (double)N * (double)K * (double)batch < small_gemm;
  if (single) openblas_set_num_threads(1);
  int lda = tA ? M : K, ldb = tB ? K : N;
  float beta = acc ? 1.0f : 0.0f;
  if (bias) {
    for (int64_t i = 0; i < batch * M; i++) memcpy(c + i * N, bias, N * sizeof(float));
    beta = 1.0f;
  }
  if (K == 0) { if (!bias && !acc) memset(c, 0, batch * M * N * sizeof(float)); return NULL; }
  if (sB == 0 && !tA && batch > 1) {
    /* broadcast right operand: the batch folds into the rows of one big product */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tB ? CblasTrans : CblasNoTrans, batch * M, N, K, 1.0f, a, K, b, ldb, beta, c, N);
  } else {
    for (int64_t i = 0; i < batch; i++)
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, a + i * sA, lda,
                  b + i * sB, ldb, beta, c + i * M * N, N);
  }
  if (single) openblas_set_num_threads(threads);
  return NULL;
}

/* rmsnorm(x, w, y, rows, d, eps): y = x / sqrt(mean(x^2) + eps) * w */
static napi_value rmsnorm(napi_env env, napi_callback_info info) {
  ARGS(6);
  int64_t rows = get_int(env, argv[3]), d = get_int(env, argv[4]); float eps = (float)get_num(env, argv[5]);
  float *x, *w, *y;
  if (!get_f32(env, argv[0], &x, rows * d) || !get_f32(env, argv[1], &w, d) || !get_f32(env, argv[2], &y, rows * d)) FAIL("rmsnorm: bad views");
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d; float *yr = y + r * d; float ss = 0;
    for (int64_t j = 0; j < d; j++) ss += xr[j] * xr[j];
    float inv = 1.0f / sqrtf(ss / (float)d + eps);
    for (int64_t j = 0; j < d; j++) yr[j] = xr[j] * inv * w[j];
  }
  return NULL;
}

/* rmsnormGrad(dy, x, w, dx, dw, rows, d, eps); dw is overwritten */
static napi_value rmsnorm_grad(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t rows = get_int(env, argv[5]), d = get_int(env, argv[6]); float eps = (float)get_num(env, argv[7]);
  float *dy, *x, *w, *dx, *dw;
  if (!get_f32(env, argv[0], &dy, rows * d) || !get_f32(env, argv[1], &x, rows * d) || !get_f32(env, argv[2], &w, d) ||
      !get_f32(env, argv[3], &dx, rows * d) || !get_f32(env, argv[4], &dw, d)) FAIL("rmsnormGrad: bad views");
  double *acc = calloc(d, sizeof(double));
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * d, *gr = dy + r * d; float *dxr = dx + r * d; float ss = 0, dot = 0;
    for (int64_t j = 0; j < d; j++) { ss += xr[j] * xr[j]; dot += gr[j] * w[j] * xr[j]; }
    float inv = 1.0f / sqrtf(ss / (float)d + eps);
    float k = dot * inv * inv * inv / (float)d;
    for (int64_t j = 0; j < d; j++) { dxr[j] = gr[j] * w[j] * inv - xr[j] * k; acc[j] += gr[j] * xr[j] * inv; }
  }
  for (int64_t j = 0; j < d; j++) dw[j] = (float)acc[j];
  free(acc);
  return NULL;
}

static inline float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

/* swiglu(g, u, y, n): y = silu(g) * u */
static napi_value swiglu(napi_env env, napi_callback_info info) {
  ARGS(4);
  int64_t n = get_int(env, argv[3]); float *g, *u, *y;
  if (!get_f32(env, argv[0], &g, n) || !get_f32(env, argv[1], &u, n) || !get_f32(env, argv[2], &y, n)) FAIL("swiglu: bad views");
  for (int64_t i = 0; i < n; i++) y[i] = g[i] * sigmoidf(g[i]) * u[i];
  return NULL;
}

/* swigluGrad(dy, g, u, dg, du, n) */
static napi_value swiglu_grad(napi_env env, napi_callback_info info) {
  ARGS(6);
  int64_t n = get_int(env, argv[5]); float *dy, *g, *u, *dg, *du;
  if (!get_f32(env, argv[0], &dy, n) || !get_f32(env, argv[1], &g, n) || !get_f32(env, argv[2], &u, n) ||
      !get_f32(env, argv[3], &dg, n) || !get_f32(env, argv[4], &du, n)) FAIL("swigluGrad: bad views");
  for (int64_t i = 0; i < n; i++) {
    float s = sigmoidf(g[i]), silu = g[i] * s;
    du[i] = dy[i] * silu;
    dg[i] = dy[i] * u[i] * (s + silu * (1.0f - s));
  }
  return NULL;
}

/* rope(x, cos, sin, y, outer, T, inner, hd, sign): x is [outer, T, inner, hd], cos/sin [T, hd] (HF layout, halves
 * duplicated); y = x*cos + rotate_half(x)*sin; sign = -1 applies the transpose of that map (the gradient). */
static napi_value rope(napi_env env, napi_callback_info info) {
  ARGS(9);
  int64_t outer = get_int(env, argv[4]), T = get_int(env, argv[5]), inner = get_int(env, argv[6]), hd = get_int(env, argv[7]);
  float sign = (float)get_num(env, argv[8]);
  int64_t n = outer * T * inner * hd, h2 = hd / 2;
  float *x, *c, *s, *y;
  if (hd % 2 || !get_f32(env, argv[0], &x, n) || !get_f32(env, argv[1], &c, T * hd) || !get_f32(env, argv[2], &s, T * hd) ||
      !get_f32(env, argv[3], &y, n)) FAIL("rope: bad views");
  for (int64_t o = 0; o < outer; o++)
    for (int64_t t = 0; t < T; t++) {
      const float *ct = c + t * hd, *st = s + t * hd;
      for (int64_t i = 0; i < inner; i++) {
        const float *xr = x + ((o * T + t) * inner + i) * hd; float *yr = y + ((o * T + t) * inner + i) * hd;
        if (sign > 0)
          for (int64_t j = 0; j < h2; j++) {
            float x1 = xr[j], x2 = xr[j + h2];
            yr[j] = x1 * ct[j] - x2 * st[j];
            yr[j + h2] = x2 * ct[j + h2] + x1 * st[j + h2];
          }
        else /* transpose of the forward map: the gradient */
          for (int64_t j = 0; j < h2; j++) {
            float g1 = xr[j], g2 = xr[j + h2];
            yr[j] = g1 * ct[j] + g2 * st[j + h2];
            yr[j + h2] = g2 * ct[j + h2] - g1 * st[j];
          }
      }
    }
  return NULL;
}

/* softmax(x, y, rows, cols, scale, causalRows, causalOffset, log)
 * y = softmax(scale * x) over each row (log-softmax when log). With causalRows > 0, row r (query index
 * q = r % causalRows) keeps columns j <= q + causalOffset; the others get probability 0 (log: -inf). */
static napi_value softmax(napi_env env, napi_callback_info info) {
  ARGS(8);
  int64_t rows = get_int(env, argv[2]), cols = get_int(env, argv[3]), cr = get_int(env, argv[5]), coff = get_int(env, argv[6]);
  float scale = (float)get_num(env, argv[4]); bool lg; napi_get_value_bool(env, argv[7], &lg);
  float *x, *y;
  if (!get_f32(env, argv[0], &x, rows * cols) || !get_f32(env, argv[1], &y, rows * cols)) FAIL("softmax: bad views");
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * cols; float *yr = y + r * cols;
    int64_t lim = cols;
    if (cr > 0) { lim = r % cr + coff + 1; if (lim > cols) lim = cols; if (lim < 0) lim = 0; }
    float mx = -INFINITY;
    for (int64_t j = 0; j < lim; j++) if (xr[j] * scale > mx) mx = xr[j] * scale;
    float sum = 0;
    for (int64_t j = 0; j < lim; j++) { float e = expf(xr[j] * scale - mx); yr[j] = e; sum += e; }
    if (lg) { float ls = logf(sum) + mx; for (int64_t j = 0; j < lim; j++) yr[j] = xr[j] * scale - ls; }
    else { float inv = 1.0f / sum; for (int64_t j = 0; j < lim; j++) yr[j] *= inv; }
    for (int64_t j = lim; j < cols; j++) yr[j] = lg ? -INFINITY : 0.0f;
  }
  return NULL;
}

/* softmaxGrad(dy, y, dx, rows, cols, scale, log): dx = scale * y * (dy - sum(dy*y)), or for log-softmax
 * dx = scale * (dy - exp(y) * sum(dy)). Masked entries (y == 0 / -inf) get 0. */
static napi_value softmax_grad(napi_env env, napi_callback_info info) {
  ARGS(7);
  int64_t rows = get_int(env, argv[3]), cols = get_int(env, argv[4]); float scale = (float)get_num(env, argv[5]);
  bool lg; napi_get_value_bool(env, argv[6], &lg);
  float *dy, *y, *dx;
  if (!get_f32(env, argv[0], &dy, rows * cols) || !get_f32(env, argv[1], &y, rows * cols) || !get_f32(env, argv[2], &dx, rows * cols))
    FAIL("softmaxGrad: bad views");
  for (int64_t r = 0; r < rows; r++) {
    const float *g = dy + r * cols, *yr = y + r * cols; float *d = dx + r * cols; float s = 0;
    if (lg) {
      for (int64_t j = 0; j < cols; j++) s += g[j];
      for (int64_t j = 0; j < cols; j++) d[j] = isinf(yr[j]) ? 0.0f : scale * (g[j] - expf(yr[j]) * s);
    } else {
      for (int64_t j = 0; j < cols; j++) s += g[j] * yr[j];
      for (int64_t j = 0; j < cols; j++) d[j] = scale * yr[j] * (g[j] - s);
    }
  }
  return NULL;
}

/* tokenLogProb(logits, ids, out, rows, V): out[r] = log_softmax(logits[r])[ids[r]] */
static napi_value token_logprob(napi_env env, napi_callback_info info) {
  ARGS(5);
  int64_t rows = get_int(env, argv[3]), V = get_int(env, argv[4]); float *l, *o; int32_t *ids;
  if (!get_f32(env, argv[0], &l, rows * V) || !get_i32(env, argv[1], &ids, rows) || !get_f32(env, argv[2], &o, rows)) FAIL("tokenLogProb: bad views");
  for (int64_t r = 0; r < rows; r++) {
    const float *lr = l + r * V; float mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; j++) if (lr[j] > mx) mx = lr[j];
    for (int64_t j = 0; j < V; j++) s += expf(lr[j] - mx);
    int32_t id = ids[r];
    o[r] = (id >= 0 && id < V) ? lr[id] - mx - logf(s) : NAN;
  }
  return NULL;
}

/* tokenLogProbGrad(dy, logits, ids, dl, rows, V): dl[r] = dy[r] * (onehot(ids[r]) - softmax(logits[r])) */
static napi_value token_logprob_grad(napi_env env, napi_callback_info info) {
  ARGS(6);
  int64_t rows = get_int(env, argv[4]), V = get_int(env, argv[5]); float *dy, *l, *dl; int32_t *ids;
  if (!get_f32(env, argv[0], &dy, rows) || !get_f32(env, argv[1], &l, rows * V) || !get_i32(env, argv[2], &ids, rows) ||
      !get_f32(env, argv[3], &dl, rows * V)) FAIL("tokenLogProbGrad: bad views");
  for (int64_t r = 0; r < rows; r++) {
    const float *lr = l + r * V; float *d = dl + r * V; float mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < V; j++) if (lr[j] > mx) mx = lr[j];
    for (int64_t j = 0; j < V; j++) { float e = expf(lr[j] - mx); d[j] = e; s += e; }
    float k = -dy[r] / s;
    for (int64_t j = 0; j < V; j++) d[j] *= k;
    int32_t id = ids[r];
    if (id >= 0 && id < V) d[id] += dy[r];
  }
  return NULL;
}

/* adam(p, m, v, g, pOut, mOut, vOut, n, lr, b1, b2, eps, t, wd): one Adam step (bias-corrected, as torch.optim.Adam
 * and tf.train.adam); wd > 0 adds decoupled weight decay first, p *= 1 - lr*wd (torch.optim.AdamW). Outputs may
 * alias inputs. */
static napi_value adam(napi_env env, napi_callback_info info) {
  ARGS(14);
  int64_t n = get_int(env, argv[7]);
  float decay = 1.0f - (float)(get_num(env, argv[8]) * get_num(env, argv[13]));
  float lr = (float)get_num(env, argv[8]), b1 = (float)get_num(env, argv[9]), b2 = (float)get_num(env, argv[10]),
        eps = (float)get_num(env, argv[11]);
  double t = get_num(env, argv[12]);
  float *p, *m, *v, *g, *po, *mo, *vo;
  if (!get_f32(env, argv[0], &p, n) || !get_f32(env, argv[1], &m, n) || !get_f32(env, argv[2], &v, n) ||
      !get_f32(env, argv[3], &g, n) || !get_f32(env, argv[4], &po, n) || !get_f32(env, argv[5], &mo, n) ||
      !get_f32(env, argv[6], &vo, n)) FAIL("adam: bad views");
  float c1 = (float)(1.0 - pow(b1, t)), c2 = (float)(1.0 - pow(b2, t));
  float step = lr / c1, ic2 = 1.0f / sqrtf(c2);
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    mo[i] = mi; vo[i] = vi;
    po[i] = p[i] * decay - step * mi / (sqrtf(vi) * ic2 + eps);
  }
  return NULL;
}

/* transpose(x, y, shape:Int32Array, perm:Int32Array): y = x permuted (rank <= 8); the last output axis is the
 * inner loop (a memcpy when it is also the input's last axis). */
static napi_value transpose(napi_env env, napi_callback_info info) {
  ARGS(4);
  view_t sv, pv;
  if (!get_view(env, argv[2], &sv) || !get_view(env, argv[3], &pv) || sv.type != napi_int32_array ||
      pv.type != napi_int32_array || sv.length != pv.length || sv.length == 0 || sv.length > 8) FAIL("transpose: bad shape/perm");
  int r = (int)sv.length; const int32_t *shape = sv.data, *perm = pv.data;
  int64_t n = 1, in_st[8], st[8], oshape[8], idx[8];
  for (int i = r - 1; i >= 0; i--) { in_st[i] = n; n *= shape[i]; }
  for (int a = 0; a < r; a++) { if (perm[a] < 0 || perm[a] >= r) FAIL("transpose: bad perm"); st[a] = in_st[perm[a]]; oshape[a] = shape[perm[a]]; idx[a] = 0; }
  float *x, *y;
  if (!get_f32(env, argv[0], &x, n) || !get_f32(env, argv[1], &y, n)) FAIL("transpose: bad views");
  if (n == 0) return NULL;
  int64_t last = oshape[r - 1], ls = st[r - 1], src = 0;
  for (int64_t dst = 0; dst < n; dst += last) {
    if (ls == 1) memcpy(y + dst, x + src, last * sizeof(float));
    else for (int64_t j = 0, q = src; j < last; j++, q += ls) y[dst + j] = x[q];
    for (int a = r - 2; a >= 0; a--) {
      idx[a]++; src += st[a];
      if (idx[a] < oshape[a]) break;
      src -= st[a] * oshape[a]; idx[a] = 0;
    }
  }
  return NULL;
}

static napi_value threads(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) { napi_valuetype t; napi_typeof(env, argv[0], &t); if (t == napi_number) openblas_set_num_threads((int)get_int(env, argv[0])); }
  napi_value out; napi_create_int32(env, openblas_get_num_threads(), &out); return out;
}

static napi_value small_gemm_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) { napi_valuetype t; napi_typeof(env, argv[0], &t); if (t == napi_number) small_gemm = get_num(env, argv[0]); }
  napi_value out; napi_create_double(env, small_gemm, &out); return out;
}

static napi_value config(napi_env env, napi_callback_info info) {
  napi_value out; const char *s = openblas_get_config();
  napi_create_string_utf8(env, s ? s : "OpenBLAS", NAPI_AUTO_LENGTH, &out); return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"matmul", 0, matmul, 0, 0, 0, napi_default, 0},
    {"rmsnorm", 0, rmsnorm, 0, 0, 0, napi_default, 0},
    {"rmsnormGrad", 0, rmsnorm_grad, 0, 0, 0, napi_default, 0},
    {"swiglu", 0, swiglu, 0, 0, 0, napi_default, 0},
    {"swigluGrad", 0, swiglu_grad, 0, 0, 0, napi_default, 0},
    {"rope", 0, rope, 0, 0, 0, napi_default, 0},
    {"softmax", 0, softmax, 0, 0, 0, napi_default, 0},
    {"softmaxGrad", 0, softmax_grad, 0, 0, 0, napi_default, 0},
    {"tokenLogProb", 0, token_logprob, 0, 0, 0, napi_default, 0},
    {"tokenLogProbGrad", 0, token_logprob_grad, 0, 0, 0, napi_default, 0},
    {"adam", 0, adam, 0, 0, 0, napi_default, 0},
    {"threads", 0, threads, 0, 0, 0, napi_default, 0},
    {"transpose", 0, transpose, 0, 0, 0, napi_default, 0},
    {"config", 0, config, 0, 0, 0, napi_default, 0},
    {"smallGemm", 0, small_gemm_fn, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
