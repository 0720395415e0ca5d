/*
 * Conv (ONNX opsets 1-13 semantics), float32, NCHW, any batch, 1-D to 6-D.
 *
 * Paths, chosen per session in `infer` from the geometry:
 *   GEMM1X1  group 1, 1x1 kernel, stride 1, no pads: Y[co,p] = W[co,:] X[:,p]
 *            straight from the input (its rows are contiguous over p).
 *   IGEMM    every other non-depthwise 1-D/2-D conv (strided, dilated,
 *            grouped): for a band of output rows, per-thread scratch gets
 *            one zero-padded copy of the input rows per kernel column kx
 *            (columns ox*sw + kx*dw, row pitch = output width) and per
 *            row phase py = row % sh. Row (ci, ky, kx) of the virtual
 *            im2col matrix is then a contiguous run of that buffer starting
 *            (ky*dh)/sh rows down in phase (ky*dh)%sh, and the whole band is
 *            one GEMM over band*ow columns with the indirect kernel reading
 *            the rows through a pointer array. That copies the input kw
 *            times instead of kh*kw, and scratch is bounded by the band.
 *   IM2COL   the same for 3 or more spatial axes, with an explicit im2col
 *            tile of output pixels in scratch.
 *   DW3X3    depthwise 3x3, dilation 1, stride 1 or 2: direct SIMD kernels.
 *   DWDOT    depthwise whose kernel covers the whole input ("global
 *            depthwise", 7x7 in MobileFaceNet): one dot product per channel.
 *   DWDIRECT other 1-D/2-D depthwise geometries: direct loops.
 *   DIRECT3X3S2 group 1, 1 to 4 input channels, 3x3, stride 2, dilation 1
 *            (a detector's first conv on an RGB image), when the table has
 *            an optimised conv3x3s2c: one direct kernel over bands of
 *            output rows. Its product (K = 27 for RGB) is too shallow for
 *            the GEMM paths, which spent as long gathering the strided
 *            input as multiplying: YuNet n's Conv_0 (3->16 at 640x480) took
 *            0.78 ms there, at about 42 GMAC/s.
 * Weights for the GEMM paths are packed once per model in `prepare` when W
 * is a constant (else once per session in `infer`, or per run when W is a
 * runtime input), in the layout of the selected kernel table. The epilogue
 * (bias, residual, activation: node->epi) is applied inside the kernels'
 * store loops.
 *
 * In a session of precision bf16 (graph.h, docs/engine.md "Precision") the
 * GEMM paths (and the pointwise half of the fused node below) run the bf16
 * kernel instead, when the CPU has one: W is packed to bf16 pairs once per
 * session from the constant W, each block of B is converted as the kernel
 * goes (scratch), and the epilogue is the same. DIRECT3X3S2 runs its bf16
 * kernel (kernels.h nn_bf16_conv3x3s2c_fn; W packed once per session), which
 * needs no conversion block: a stride-2 row converted to bf16 is already in
 * VDPBF16PS's pairs. Depthwise convs stay in float32.
 *
 * A session of precision int8 runs the same GEMM paths on the int8 kernel
 * (kernels.h nn_i8_gemm_fn: W quantised per output channel once per session,
 * each block of B quantised over its own range as the kernel goes), which
 * takes the bf16 kernel's place in the plans below (same signature, same
 * panel height, a smaller B block); the rest stays in float32.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../kernels/kernels.h"

#define CONV_MAX_SP (NN_MAX_RANK - 2)
/* Floats of im2col scratch a thread aims for (256 KiB: stays in L2). */
#define IM2COL_TILE_FLOATS 65536
/* Floats of input band an IGEMM thread aims for. */
#define IGEMM_BAND_FLOATS 65536
/* Above this much scratch for a single-row band (huge channel count times
 * width), IGEMM gives way to IM2COL, whose pixel tiles bound scratch. */
#define IGEMM_MAX_BYTES ((size_t)16 << 20)
/* Floats of input a GEMM1X1 column tile aims for (256 KiB: L2). */
#define GEMM_TILE_FLOATS 65536

/* Output channels (per group) below which bf16 sessions keep a conv in
 * float32: the bf16 kernel converts each block of B once for all panels of
 * W, which pays off from two panels on. YuNet's heads (1, 4, 10 channels)
 * at 1920x1088 were slower in bf16 (64->1 at 68x120: 0.4-0.9 ms vs
 * under 0.3). */
#define BF16_MIN_ROWS 16
/* The same for the depth of a conv's product (input channels x kernel
 * elements): YuNet's first conv (3->16, 3x3 stride 2, K = 27) at 1920x1088
 * took 6.25-6.65 ms in bf16 and 5.67-6.14 in f32 (5 interleaved runs each):
 * with 14 k-pairs per converted block the conversion is too large a part. The
 * fused 1x1 node converts straight from its input and gains from K = 16. */
#define BF16_MIN_K 32

enum {
  PATH_GEMM1X1,
  PATH_IGEMM,
  PATH_IM2COL,
  PATH_DW3X3,
  PATH_DWDOT,
  PATH_DWDIRECT,
  PATH_DIRECT3X3S2
};
static const char *const path_names[] = {
    "gemm1x1", "igemm", "im2col", "dw3x3", "dwdot", "dwdirect", "direct3x3s2"};

/* Model-level state: packed weights (NULL for depthwise convs, which read W
 * directly). */
typedef struct conv_shared {
  const nn_kernels *kt;
  size_t co, cig, group, K; /* K = cig * kernel elements */
  size_t gpack;             /* floats of packed weights per group */
  float *wpack;
} conv_shared;

typedef struct conv_plan {
  const nn_kernels *kt;
  int path;
  int nsp; /* spatial rank after mapping 1-D to 2-D */
  size_t n, ci, co, group, cig, cog;
  size_t in[CONV_MAX_SP], out[CONV_MAX_SP], k[CONV_MAX_SP], s[CONV_MAX_SP],
      d[CONV_MAX_SP], pb[CONV_MAX_SP];
  size_t isz, osz, kel, K;
  size_t ptile, nptiles;
  /* IGEMM: output rows per band, buffer rows per band, bands */
  size_t band, bandph, nbands;
  size_t gpack;
  const float *wpack; /* shared->wpack or wbuf */
  float *wbuf;        /* owned by the plan */
  int pack_at_run;    /* W is a runtime input: pack into wbuf in run */
  /* non-NULL: the GEMM paths run in bf16, or int8 (nn_i8_gemm_fn) */
  nn_bf16_gemm_fn bf16;
  nn_bf16_conv3x3s2c_fn c3bf16; /* non-NULL: DIRECT3X3S2 runs in bf16 */
  /* set by nn_conv_pair_edges: Y leaves as bf16 pairs */
  nn_bf16_conv3x3s2c_pairs_fn c3pairs;
  uint32_t *wb16; /* W packed for bf16 (owned), per group gpack16; for
                     c3bf16 in nn_bf16_conv3x3s2c_pack's layout; for int8 in
                     nn_i8_pack_a's */
  size_t gpack16;
  size_t panel16; /* uint32 per packed panel of 8 rows of wb16 */
} conv_plan;

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static int is_depthwise(size_t cig, size_t cog) { return cig == 1 && cog == 1; }

static void pack_weights(const nn_kernels *kt, const float *w, size_t group,
                         size_t cog, size_t K, size_t gpack, float *dst) {
  for (size_t g = 0; g < group; g++)
    nn_pack_a(kt->mr, cog, K, w + g * cog * K, K, 1, 1.0f, dst + g * gpack);
}

static void conv_free_shared(void *p) {
  conv_shared *s = p;
  if (s) {
    nn_free(s->wpack);
    free(s);
  }
}

static void conv_free_plan(void *p) {
  conv_plan *pl = p;
  if (pl) {
    nn_free(pl->wbuf);
    nn_free(pl->wb16);
    free(pl);
  }
}

/* Bytes of scratch for the bf16 kernel's B block, with room to align it. */
static size_t bf16_scratch(size_t k) {
  return nn_bf16_bbuf_size(k) * sizeof(uint32_t) + 64;
}

/* The bf16 B block in a thread's scratch at byte offset `off`. */
static uint32_t *bf16_bbuf(void *scratch, size_t off) {
  uintptr_t p = (uintptr_t)scratch + off;
  return (uint32_t *)(void *)((p + 63) & ~(uintptr_t)63);
}

/* The GEMM kernel of a session's precision: bf16 or int8, NULL for
 * float32 (or a CPU without the instructions). */
static nn_bf16_gemm_fn lowp_gemm(int precision) {
  return precision == ARGUS_NN_PRECISION_BF16   ? nn_bf16_gemm_get()
         : precision == ARGUS_NN_PRECISION_INT8 ? nn_i8_gemm_get()
                                                : NULL;
}

/* Packs `group` groups of `cog` rows x K of W for the bf16 or int8 kernel
 * into a new buffer (NULL: out of memory); *panel: uint32 per panel. */
static uint32_t *pack_lowp(int precision, const float *w, size_t group,
                           size_t cog, size_t K, size_t *gpack,
                           size_t *panel) {
  int i8 = precision == ARGUS_NN_PRECISION_INT8;
  *gpack = i8 ? nn_i8_pack_a_size(cog, K) : nn_bf16_pack_a_size(cog, K);
  *panel = i8 ? nn_i8_panel_size(K) : nn_bf16_panel_size(K);
  uint32_t *d = nn_alloc(*gpack * group * sizeof(uint32_t));
  if (d)
    for (size_t g = 0; g < group; g++) {
      if (i8)
        nn_i8_pack_a(cog, K, w + g * cog * K, K, 1, d + g * *gpack);
      else
        nn_bf16_pack_a(cog, K, w + g * cog * K, K, 1, d + g * *gpack);
    }
  return d;
}

/* Packs constant weights for the GEMM paths once per model. Depthwise
 * 1-D/2-D convs use W as it is; they get no shared state. */
static argus_err conv_prepare(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *w = nn_in(g, n, 1);
  if (!w || !w->is_const || !w->data || w->dtype != NN_FLOAT || w->rank < 3)
    return ARGUS_OK; /* infer reports what is wrong, or packs per session */
  int64_t group;
  argus_err e = nn_attr_int(n, "group", 1, &group, err);
  if (e)
    return e;
  if (group < 1 || w->dims[0] < 1 || w->dims[0] % group != 0)
    return ARGUS_OK; /* infer explains */
  size_t co = (size_t)w->dims[0], cig = (size_t)w->dims[1];
  size_t cog = co / (size_t)group, kel = 1;
  for (int i = 2; i < w->rank; i++)
    kel *= (size_t)w->dims[i];
  if (is_depthwise(cig, cog) && w->rank <= 4)
    return ARGUS_OK;
  const nn_kernels *kt = nn_kernels_get();
  conv_shared *s = calloc(1, sizeof *s);
  if (!s)
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  s->kt = kt;
  s->co = co;
  s->cig = cig;
  s->group = (size_t)group;
  s->K = cig * kel;
  s->gpack = nn_pack_a_size(kt->mr, cog, s->K);
  s->wpack = nn_alloc(s->gpack * s->group * sizeof(float));
  if (!s->wpack) {
    free(s);
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  }
  pack_weights(kt, w->data, s->group, cog, s->K, s->gpack, s->wpack);
  n->shared = s;
  return ARGUS_OK;
}

/* Reads an ints attribute of exactly `count` values (or absent). */
static argus_err ints_attr(const nn_node *n, const char *name, size_t count,
                           const int64_t **out, nn_err *err) {
  size_t c = 0;
  argus_err e = nn_attr_ints(n, name, out, &c, err);
  if (e)
    return e;
  if (*out && c != count)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': attribute '%s' has %zu values, expected %zu",
                   nm(n), name, c, count);
  return ARGUS_OK;
}

/* Conv's attributes and channel counts, validated against X, W and B. */
typedef struct conv_attrs {
  int64_t group, ci, co, cig;
  const int64_t *ks, *st, *di, *pads; /* NULL where absent */
  int mode; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
} conv_attrs;

/* Spatial geometry per axis (the ONNX rank, before 1-D maps to 2-D). */
typedef struct conv_geom {
  int nsp;
  size_t in[CONV_MAX_SP], out[CONV_MAX_SP], k[CONV_MAX_SP], s[CONV_MAX_SP],
      d[CONV_MAX_SP], pb[CONV_MAX_SP];
} conv_geom;

/* Checks that X, W and Y exist, that every input is float and that the
 * ranks of X and W agree. */
static argus_err check_io(const nn_node *n, const nn_value *x,
                          const nn_value *w, const nn_value *b,
                          const nn_value *y, nn_err *err) {
  if (!x || !w || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': needs inputs X and W and output Y", nm(n));
  const nn_value *vs[3] = {x, w, b};
  for (int i = 0; i < 3; i++)
    if (vs[i] && vs[i]->dtype != NN_FLOAT)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "Conv '%s': input %d has element type %s; only float is "
                     "supported",
                     nm(n), i, nn_dtype_name(vs[i]->dtype));
  if (x->rank < 3 || x->rank > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': X must have rank 3 or more (N, C, spatial...), "
                   "has %d",
                   nm(n), x->rank);
  if (w->rank != x->rank)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': W has rank %d, X has rank %d", nm(n), w->rank,
                   x->rank);
  return ARGUS_OK;
}

/* Maps the auto_pad attribute (NULL when absent) to conv_attrs.mode. */
static argus_err parse_auto_pad(const nn_node *n, const char *autopad,
                                int *mode, nn_err *err) {
  *mode = 0;
  if (!autopad || strcmp(autopad, "NOTSET") == 0)
    return ARGUS_OK;
  if (strcmp(autopad, "SAME_UPPER") == 0)
    *mode = 1;
  else if (strcmp(autopad, "SAME_LOWER") == 0)
    *mode = 2;
  else if (strcmp(autopad, "VALID") == 0)
    *mode = 3;
  else
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': attribute 'auto_pad' has unknown value '%s'",
                   nm(n), autopad);
  return ARGUS_OK;
}

/* Reads the attributes into *a and checks group, channels, bias and a
 * fused PRelu's slopes against X and W (b may be NULL). */
static argus_err read_attrs(const nn_node *n, const nn_value *x,
                            const nn_value *w, const nn_value *b, conv_attrs *a,
                            nn_err *err) {
  argus_err e;
  int nsp0 = x->rank - 2;
  const char *autopad = NULL;
  a->ks = a->st = a->di = a->pads = NULL;
  if ((e = nn_attr_int(n, "group", 1, &a->group, err)) ||
      (e = ints_attr(n, "kernel_shape", (size_t)nsp0, &a->ks, err)) ||
      (e = ints_attr(n, "strides", (size_t)nsp0, &a->st, err)) ||
      (e = ints_attr(n, "dilations", (size_t)nsp0, &a->di, err)) ||
      (e = ints_attr(n, "pads", 2 * (size_t)nsp0, &a->pads, err)) ||
      (e = nn_attr_string(n, "auto_pad", &autopad, err)))
    return e;
  int64_t group = a->group, ci = x->dims[1], co = w->dims[0], cig = w->dims[1];
  a->ci = ci, a->co = co, a->cig = cig;
  if (group < 1)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': attribute 'group' is %lld, must be >= 1", nm(n),
                   (long long)group);
  if (co < 1 || co % group != 0)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': W has %lld output channels, not a positive "
                   "multiple of group %lld",
                   nm(n), (long long)co, (long long)group);
  if (cig < 1 || ci != cig * group)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': X has %lld channels but W expects %lld per "
                   "group x %lld groups",
                   nm(n), (long long)ci, (long long)cig, (long long)group);
  if (b && (b->rank != 1 || b->dims[0] != co))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': bias B must have shape [%lld]", nm(n),
                   (long long)co);
  if (n->epi.act == NN_ACT_PRELU &&
      (!n->epi.slope || (n->epi.nslope != 1 && n->epi.nslope != co)))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': fused PRelu has %d slopes for %lld channels",
                   nm(n), n->epi.nslope, (long long)co);
  return parse_auto_pad(n, autopad, &a->mode, err);
}

/* Checks spatial axis i's kernel, stride, dilation and pads and computes its
 * output size into ydims[2 + i] and its geometry into *gm. */
static argus_err axis_geometry(const nn_node *n, const nn_value *x,
                               const nn_value *w, const conv_attrs *a, int i,
                               int64_t *ydims, conv_geom *gm, nn_err *err) {
  int nsp0 = x->rank - 2;
  int64_t kk = w->dims[2 + i];
  if (a->ks && a->ks[i] != kk)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': attribute 'kernel_shape'[%d] = %lld but W "
                   "has %lld",
                   nm(n), i, (long long)a->ks[i], (long long)kk);
  int64_t ss = a->st ? a->st[i] : 1, dd = a->di ? a->di[i] : 1;
  int64_t p0 = a->pads ? a->pads[i] : 0, p1 = a->pads ? a->pads[i + nsp0] : 0;
  if (kk < 1 || ss < 1 || dd < 1 || p0 < 0 || p1 < 0 || ss > (1 << 20) ||
      dd > (1 << 20) || p0 > (1 << 20) || p1 > (1 << 20))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': spatial axis %d has kernel %lld, stride "
                   "%lld, dilation %lld, pads %lld/%lld (kernel, strides "
                   "and dilations must be >= 1, pads >= 0)",
                   nm(n), i, (long long)kk, (long long)ss, (long long)dd,
                   (long long)p0, (long long)p1);
  int64_t xi = x->dims[2 + i], ek = (kk - 1) * dd + 1, o;
  if (xi < 1)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': X spatial axis %d has size %lld", nm(n), i,
                   (long long)xi);
  if (a->mode == 1 || a->mode == 2) {
    o = (xi + ss - 1) / ss;
    int64_t tot = (o - 1) * ss + ek - xi;
    if (tot < 0)
      tot = 0;
    p0 = a->mode == 1 ? tot / 2 : tot - tot / 2;
  } else {
    if (a->mode == 3)
      p0 = p1 = 0;
    if (xi + p0 + p1 < ek)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "Conv '%s': spatial axis %d: input %lld plus pads "
                     "%lld/%lld is smaller than the dilated kernel %lld",
                     nm(n), i, (long long)xi, (long long)p0, (long long)p1,
                     (long long)ek);
    o = (xi + p0 + p1 - ek) / ss + 1;
  }
  ydims[2 + i] = o;
  gm->in[i] = (size_t)xi;
  gm->out[i] = (size_t)o;
  gm->k[i] = (size_t)kk;
  gm->s[i] = (size_t)ss;
  gm->d[i] = (size_t)dd;
  gm->pb[i] = (size_t)p0;
  return ARGUS_OK;
}

/* Fills the plan's sizes from the attributes and the geometry, running 1-D
 * as 2-D with a height of one. */
static void plan_geometry(conv_plan *pl, const nn_value *x, const conv_attrs *a,
                          const conv_geom *gm0) {
  conv_geom gm = *gm0;
  if (gm.nsp == 1) {
    gm.nsp = 2;
    gm.in[1] = gm.in[0], gm.out[1] = gm.out[0], gm.k[1] = gm.k[0],
    gm.s[1] = gm.s[0], gm.d[1] = gm.d[0], gm.pb[1] = gm.pb[0];
    gm.in[0] = gm.out[0] = gm.k[0] = gm.s[0] = gm.d[0] = 1;
    gm.pb[0] = 0;
  }
  pl->nsp = gm.nsp;
  pl->n = (size_t)x->dims[0];
  pl->ci = (size_t)a->ci;
  pl->co = (size_t)a->co;
  pl->group = (size_t)a->group;
  pl->cig = (size_t)a->cig;
  pl->cog = (size_t)(a->co / a->group);
  pl->isz = pl->osz = pl->kel = 1;
  for (int i = 0; i < gm.nsp; i++) {
    pl->in[i] = gm.in[i], pl->out[i] = gm.out[i], pl->k[i] = gm.k[i],
    pl->s[i] = gm.s[i], pl->d[i] = gm.d[i], pl->pb[i] = gm.pb[i];
    pl->isz *= gm.in[i];
    pl->osz *= gm.out[i];
    pl->kel *= gm.k[i];
  }
  pl->K = pl->cig * pl->kel;
}

/* Picks the path (see the top of this file) from the plan's geometry. */
static int choose_path(const conv_plan *pl) {
  const size_t *in = pl->in, *out = pl->out, *k = pl->k, *s = pl->s, *d = pl->d,
               *pb = pl->pb;
  int one = 1, whole = 1;
  for (int i = 0; i < pl->nsp; i++) {
    if (k[i] != 1 || s[i] != 1 || pb[i] != 0 || out[i] != in[i])
      one = 0;
    if (k[i] != in[i] || pb[i] != 0 || out[i] != 1 || (k[i] > 1 && d[i] != 1))
      whole = 0;
  }
  if (is_depthwise(pl->cig, pl->cog) && pl->nsp == 2) {
    if (whole)
      return PATH_DWDOT;
    if (k[0] == 3 && k[1] == 3 && d[0] == 1 && d[1] == 1 && s[0] == s[1] &&
        (s[0] == 1 || s[0] == 2))
      return PATH_DW3X3;
    return PATH_DWDIRECT;
  }
  if (is_depthwise(pl->cig, pl->cog) && whole)
    return PATH_DWDOT;
  if (pl->group == 1 && one)
    return PATH_GEMM1X1;
  if (pl->group == 1 && pl->nsp == 2 && pl->cig <= NN_CONV3X3S2C_MAX_CIN &&
      k[0] == 3 && k[1] == 3 && s[0] == 2 && s[1] == 2 && d[0] == 1 &&
      d[1] == 1 && pl->kt->conv3x3s2c != nn_f32_conv3x3s2c_ref)
    return PATH_DIRECT3X3S2;
  return pl->nsp == 2 ? PATH_IGEMM : PATH_IM2COL;
}

/* For the GEMM paths: borrows the model's packed weights when they match,
 * else allocates the plan's own and packs W now if it is a constant (at
 * run otherwise). */
static argus_err plan_weights(conv_plan *pl, const conv_shared *sh,
                              const nn_value *w, const nn_node *n,
                              nn_err *err) {
  if (pl->path != PATH_GEMM1X1 && pl->path != PATH_IGEMM &&
      pl->path != PATH_IM2COL)
    return ARGUS_OK;
  if (sh && sh->co == pl->co && sh->cig == pl->cig && sh->group == pl->group &&
      sh->K == pl->K) {
    pl->wpack = sh->wpack;
    pl->gpack = sh->gpack;
    return ARGUS_OK;
  }
  pl->gpack = nn_pack_a_size(pl->kt->mr, pl->cog, pl->K);
  pl->wbuf = nn_alloc(pl->gpack * pl->group * sizeof(float));
  if (!pl->wbuf)
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  pl->wpack = pl->wbuf;
  if (w->is_const && w->data)
    pack_weights(pl->kt, w->data, pl->group, pl->cog, pl->K, pl->gpack,
                 pl->wbuf);
  else
    pl->pack_at_run = 1;
  return ARGUS_OK;
}

/* Column tiles over output pixels: at most a budget of B (input) floats,
 * split evenly into multiples of the kernel's column block, so that no tile
 * ends in a sliver that costs a whole pass over the weights. */
static void plan_tiles(conv_plan *pl) {
  size_t nr = pl->kt->nr, tile;
  size_t budget =
      pl->path == PATH_IM2COL ? IM2COL_TILE_FLOATS : GEMM_TILE_FLOATS;
  size_t tmax = budget / pl->K / nr * nr;
  if (tmax < nr)
    tmax = nr;
  size_t ntiles = (pl->osz + tmax - 1) / tmax;
  tile = (pl->osz + ntiles - 1) / ntiles;
  tile = (tile + nr - 1) / nr * nr;
  if (tile >= pl->osz)
    tile = pl->osz;
  pl->ptile = tile;
  pl->nptiles = (pl->osz + tile - 1) / tile;
}

/* IGEMM's bands of output rows, bounded by IGEMM_BAND_FLOATS of input. */
static void plan_bands(conv_plan *pl) {
  const size_t *k = pl->k, *s = pl->s, *d = pl->d, *out = pl->out;
  size_t ext = (k[0] - 1) * d[0] / s[0];
  size_t per_row = pl->cig * s[0] * k[1] * out[1];
  size_t band = IGEMM_BAND_FLOATS / per_row;
  band = band > ext + 1 ? band - ext : 1;
  /* Bands of at least ~96 columns keep the kernel in its full blocks;
   * beyond that, four bands give threads work to share. */
  size_t want = (out[0] + 3) / 4, mincols = (96 + out[1] - 1) / out[1];
  if (want < mincols)
    want = mincols;
  if (band > want)
    band = want;
  if (band > out[0])
    band = out[0];
  pl->band = band;
  pl->bandph = band + ext;
  pl->nbands = (out[0] + band - 1) / band;
}

/* Builds the session plan from validated attributes and geometry. On error
 * *out is untouched and nothing is kept. */
static argus_err plan_new(const nn_node *n, const nn_value *x,
                          const nn_value *w, const conv_attrs *a,
                          const conv_geom *gm, int precision, conv_plan **out,
                          nn_err *err) {
  conv_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  plan_geometry(pl, x, a, gm);
  const conv_shared *sh = n->shared;
  pl->kt = sh ? sh->kt : nn_kernels_get();
  pl->path = choose_path(pl);
  argus_err e = plan_weights(pl, sh, w, n, err);
  if (e) {
    conv_free_plan(pl);
    return e;
  }
  if (pl->path == PATH_IGEMM) {
    size_t ext = (pl->k[0] - 1) * pl->d[0] / pl->s[0];
    size_t per_row = pl->cig * pl->s[0] * pl->k[1] * pl->out[1];
    if (per_row * (ext + 1) * sizeof(float) > IGEMM_MAX_BYTES)
      pl->path = PATH_IM2COL;
  }
  if (!pl->pack_at_run && pl->cog >= BF16_MIN_ROWS && pl->K >= BF16_MIN_K &&
      (pl->path == PATH_GEMM1X1 || pl->path == PATH_IGEMM ||
       pl->path == PATH_IM2COL) &&
      (pl->bf16 = lowp_gemm(precision)) != NULL) {
    pl->wb16 = pack_lowp(precision, w->data, pl->group, pl->cog, pl->K,
                         &pl->gpack16, &pl->panel16);
    if (!pl->wb16) {
      conv_free_plan(pl);
      return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
    }
  }
  if (precision == ARGUS_NN_PRECISION_BF16 && pl->path == PATH_DIRECT3X3S2 &&
      w->is_const && w->data &&
      (pl->c3bf16 = nn_bf16_conv3x3s2c_get()) != NULL) {
    pl->wb16 =
        nn_alloc(nn_bf16_conv3x3s2c_pack_size(pl->co, pl->cig) * sizeof(uint32_t));
    if (!pl->wb16) {
      conv_free_plan(pl);
      return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
    }
    nn_bf16_conv3x3s2c_pack(w->data, pl->co, pl->cig, pl->wb16);
  }
  plan_tiles(pl);
  if (pl->path == PATH_IGEMM)
    plan_bands(pl);
  *out = pl;
  return ARGUS_OK;
}

static argus_err conv_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *x = nn_in(g, n, 0), *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
  nn_value *y = nn_out(g, n, 0);
  conv_attrs a;
  conv_geom gm;
  conv_plan *pl = NULL;
  argus_err e;
  if ((e = check_io(n, x, w, b, y, err)) ||
      (e = read_attrs(n, x, w, b, &a, err)))
    return e;
  int64_t ydims[NN_MAX_RANK];
  ydims[0] = x->dims[0];
  ydims[1] = a.co;
  gm.nsp = x->rank - 2;
  for (int i = 0; i < gm.nsp; i++)
    if ((e = axis_geometry(n, x, w, &a, i, ydims, &gm, err)))
      return e;
  if ((e = nn_set_shape(y, NN_FLOAT, x->rank, ydims, err)) ||
      (e = plan_new(n, x, w, &a, &gm, g->precision, &pl, err)))
    return e;
  n->plan = pl;
  argus_log(ARGUS_LOG_DEBUG, "nn",
            "Conv '%s': %s%s, %zu->%zu channels, group %zu, %zu pixels, "
            "tile %zu",
            nm(n), path_names[pl->path],
            pl->bf16 || pl->c3bf16
                ? (g->precision == ARGUS_NN_PRECISION_INT8 ? " int8" : " bf16")
                : "",
            pl->ci,
            pl->co, pl->group, pl->osz, pl->ptile);
  return ARGUS_OK;
}

static size_t conv_scratch(const nn_graph *g, const nn_node *n) {
  const conv_plan *pl = n->plan;
  if (!pl)
    return 0;
  size_t b16 = pl->bf16 ? bf16_scratch(pl->K) : 0;
  if (pl->path == PATH_GEMM1X1)
    return b16;
  if (pl->path == PATH_IM2COL)
    return pl->K * pl->ptile * sizeof(float) + b16;
  if (pl->path == PATH_IGEMM) {
    /* buffer, pointer array (aligned), the deinterleaved row, then the
     * bf16 B block */
    size_t fl = pl->cig * pl->s[0] * pl->k[1] * pl->bandph * pl->out[1];
    fl = (fl + 15) & ~(size_t)15;
    return fl * sizeof(float) + pl->K * sizeof(float *) +
           (pl->in[1] + 2) * sizeof(float) + b16;
  }
  if (pl->path == PATH_DWDIRECT)
    return pl->out[1] * sizeof(float);
  return 0;
}

/* ---- im2col ----------------------------------------------------------- */

/* Copy and zero-fill that stay inline for the short rows of small feature
 * maps, where a libc call per row would cost more than the copy. */
static inline void copy_f(float *dst, const float *src, size_t n) {
  if (n >= 8) {
    memcpy(dst, src, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; i++)
    dst[i] = src[i];
}

static inline void zero_f(float *dst, size_t n) {
  if (n >= 8) {
    memset(dst, 0, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; i++)
    dst[i] = 0.0f;
}

/* Fills buf for output rows from oy0 of one group (x: its first channel):
 *   buf[ci][py][kx][i][ox] = X[ci][(oy0 + i)*sh + py - pt]
 *                              [ox*sw + kx*dw - pl], 0 outside X.
 * For sw = 2 each input row is first split into even and odd columns (in
 * tmp, iw + 2 floats), so that every kx copy is a contiguous run. */
static void igemm_fill(const conv_plan *pl, const float *x, size_t oy0,
                       float *buf, float *tmp) {
  const size_t ih = pl->in[0], iw = pl->in[1], sh = pl->s[0], kw = pl->k[1];
  const size_t ow = pl->out[1], bph = pl->bandph;
  const ptrdiff_t sx = (ptrdiff_t)pl->s[1];
  const size_t half = (iw + 1) / 2;
  for (size_t ci = 0; ci < pl->cig; ci++) {
    const float *xc = x + ci * ih * iw;
    for (size_t py = 0; py < sh; py++) {
      float *base = buf + (ci * sh + py) * kw * bph * ow;
      for (size_t i = 0; i < bph; i++) {
        ptrdiff_t iy = (ptrdiff_t)((oy0 + i) * sh + py) - (ptrdiff_t)pl->pb[0];
        if (iy < 0 || iy >= (ptrdiff_t)ih) {
          for (size_t kx = 0; kx < kw; kx++)
            zero_f(base + (kx * bph + i) * ow, ow);
          continue;
        }
        const float *row = xc + (size_t)iy * iw;
        if (sx == 2)
          pl->kt->deinterleave2(row, iw, tmp, tmp + half);
        for (size_t kx = 0; kx < kw; kx++) {
          float *dst = base + (kx * bph + i) * ow;
          /* valid ox: 0 <= ox*sx + off < iw */
          ptrdiff_t off = (ptrdiff_t)(kx * pl->d[1]) - (ptrdiff_t)pl->pb[1];
          ptrdiff_t lo = off < 0 ? (-off + sx - 1) / sx : 0;
          ptrdiff_t hi = (ptrdiff_t)iw - off <= 0
                             ? 0
                             : ((ptrdiff_t)iw - off + sx - 1) / sx;
          if (hi > (ptrdiff_t)ow)
            hi = (ptrdiff_t)ow;
          if (lo > hi)
            lo = hi;
          zero_f(dst, (size_t)lo);
          if (sx == 1) {
            copy_f(dst + lo, row + off + lo, (size_t)(hi - lo));
          } else if (sx == 2) {
            /* column 2*ox + off is element ox + floor(off/2) of the phase
             * off mod 2 */
            ptrdiff_t par = off & 1, q = (off - par) / 2;
            const float *ph = tmp + (par ? half : 0) + q;
            copy_f(dst + lo, ph + lo, (size_t)(hi - lo));
          } else {
            for (ptrdiff_t j = lo; j < hi; j++)
              dst[j] = row[j * sx + off];
          }
          zero_f(dst + hi, ow - (size_t)hi);
        }
      }
    }
  }
}

/* Generic N-D version (3 or more spatial axes). */
static void im2col_nd(const conv_plan *pl, const float *x, size_t p0,
                      size_t p1, float *col) {
  const int nsp = pl->nsp;
  const size_t cols = p1 - p0;
  for (size_t r = 0; r < pl->K; r++) {
    size_t c = r / pl->kel, kr = r % pl->kel;
    size_t kidx[CONV_MAX_SP];
    for (int i = nsp - 1; i >= 0; i--) {
      kidx[i] = kr % pl->k[i];
      kr /= pl->k[i];
    }
    const float *xc = x + c * pl->isz;
    float *dst = col + r * cols;
    for (size_t p = p0; p < p1; p++) {
      size_t q = p, off = 0, stride = 1;
      int ok = 1;
      for (int i = nsp - 1; i >= 0; i--) {
        size_t o = q % pl->out[i];
        q /= pl->out[i];
        ptrdiff_t pos = (ptrdiff_t)(o * pl->s[i] + kidx[i] * pl->d[i]) -
                        (ptrdiff_t)pl->pb[i];
        if (pos < 0 || pos >= (ptrdiff_t)pl->in[i]) {
          ok = 0;
          break;
        }
        off += (size_t)pos * stride;
        stride *= pl->in[i];
      }
      dst[p - p0] = ok ? xc[off] : 0.0f;
    }
  }
}

/* ---- run -------------------------------------------------------------- */

typedef struct conv_ctx {
  const conv_plan *pl;
  const float *x, *w, *bias, *res;
  float *y;
  nn_post post; /* act, slope, clip; bias/res set per task */
  const nn_exec *ex;
  size_t nmchunk, mchunk; /* GEMM1X1: panels per task along co;
                           DIRECT3X3S2: bands per image, rows each */
} conv_ctx;

/* The post-ops of channels [c0, ...) of image `img`, for output pixels from
 * p0 on. */
static nn_post post_at(const conv_ctx *c, size_t img, size_t c0, size_t p0) {
  const conv_plan *pl = c->pl;
  nn_post p = c->post;
  p.bias = c->bias ? c->bias + c0 : NULL;
  if (p.slope)
    p.slope += c0 * p.slope_stride;
  p.res = c->res ? c->res + (img * pl->co + c0) * pl->osz + p0 : NULL;
  p.ldr = pl->osz;
  return p;
}

/* Task = (image, pixel tile, co chunk). */
/* Rows of a packed weight panel: the bf16 kernel's or the table's. */
static size_t plan_mr(const conv_plan *pl) {
  return pl->bf16 ? NN_BF16_MR : pl->kt->mr;
}

static void task_gemm1x1(void *ctx, size_t begin, size_t end, int tid) {
  const conv_ctx *c = ctx;
  const conv_plan *pl = c->pl;
  const size_t mr = plan_mr(pl);
  for (size_t t = begin; t < end; t++) {
    size_t mc = t % c->nmchunk, rest = t / c->nmchunk;
    size_t tile = rest % pl->nptiles, img = rest / pl->nptiles;
    size_t m0 = mc * c->mchunk * mr, m1 = m0 + c->mchunk * mr;
    if (m1 > pl->co)
      m1 = pl->co;
    if (m0 >= m1)
      continue;
    size_t p0 = tile * pl->ptile;
    size_t p1 = p0 + pl->ptile < pl->osz ? p0 + pl->ptile : pl->osz;
    nn_post p = post_at(c, img, m0, p0);
    if (pl->bf16)
      pl->bf16(m1 - m0, p1 - p0, pl->K,
               pl->wb16 + m0 / mr * pl->panel16,
               c->x + img * pl->ci * pl->isz + p0, pl->isz, NULL, 0,
               c->y + (img * pl->co + m0) * pl->osz + p0, pl->osz, &p,
               bf16_bbuf(nn_scratch(c->ex, tid), 0));
    else
      nn_gemm_run(pl->kt, m1 - m0, p1 - p0, pl->K, c->w + m0 * pl->K,
                  c->x + img * pl->ci * pl->isz + p0, pl->isz,
                  c->y + (img * pl->co + m0) * pl->osz + p0, pl->osz, &p, 0);
  }
}

/* Task = (image, group, band of output rows). */
static void task_igemm(void *ctx, size_t begin, size_t end, int tid) {
  const conv_ctx *c = ctx;
  const conv_plan *pl = c->pl;
  const size_t mr = pl->kt->mr, sh = pl->s[0];
  const size_t oh = pl->out[0], ow = pl->out[1], kh = pl->k[0],
               kw = pl->k[1], bph = pl->bandph;
  float *buf = nn_scratch(c->ex, tid);
  size_t fl = pl->cig * sh * kw * bph * ow;
  fl = (fl + 15) & ~(size_t)15;
  const float **rows = (const float **)(void *)(buf + fl);
  float *tmp = (float *)(void *)(rows + pl->K);
  uint32_t *bbuf = pl->bf16 ? bf16_bbuf(tmp + pl->in[1] + 2, 0) : NULL;
  /* Row (ci, ky, kx) of the virtual im2col matrix for the band's first
   * output row; the same for every band. */
  for (size_t ci = 0, kk = 0; ci < pl->cig; ci++)
    for (size_t ky = 0; ky < kh; ky++)
      for (size_t kx = 0; kx < kw; kx++, kk++) {
        size_t ty = ky * pl->d[0];
        rows[kk] = buf + (((ci * sh + ty % sh) * kw + kx) * bph + ty / sh) * ow;
      }
  for (size_t t = begin; t < end; t++) {
    size_t band = t % pl->nbands, rest = t / pl->nbands;
    size_t grp = rest % pl->group, img = rest / pl->group;
    size_t oy0 = band * pl->band;
    size_t oy1 = oy0 + pl->band < oh ? oy0 + pl->band : oh;
    igemm_fill(pl, c->x + (img * pl->ci + grp * pl->cig) * pl->isz, oy0, buf,
               tmp);
    if (pl->bf16) {
      /* all panels at once: each block of B is converted once */
      size_t c0 = grp * pl->cog;
      nn_post p = post_at(c, img, c0, oy0 * ow);
      pl->bf16(pl->cog, (oy1 - oy0) * ow, pl->K, pl->wb16 + grp * pl->gpack16,
               NULL, 0, rows, 0,
               c->y + (img * pl->co + c0) * pl->osz + oy0 * ow, pl->osz, &p,
               bbuf);
      continue;
    }
    const float *w = c->w + grp * pl->gpack;
    for (size_t i0 = 0; i0 < pl->cog; i0 += mr) {
      size_t c0 = grp * pl->cog + i0;
      nn_post p = post_at(c, img, c0, oy0 * ow);
      pl->kt->igemm(pl->cog - i0 < mr ? pl->cog - i0 : mr, (oy1 - oy0) * ow,
                    pl->K, w + i0 * pl->K, rows, 0,
                    c->y + (img * pl->co + c0) * pl->osz + oy0 * ow, pl->osz,
                    &p);
    }
  }
}

/* Task = (image, group, pixel tile). */
static void task_im2col(void *ctx, size_t begin, size_t end, int tid) {
  const conv_ctx *c = ctx;
  const conv_plan *pl = c->pl;
  float *col = nn_scratch(c->ex, tid);
  for (size_t t = begin; t < end; t++) {
    size_t tile = t % pl->nptiles, rest = t / pl->nptiles;
    size_t grp = rest % pl->group, img = rest / pl->group;
    size_t p0 = tile * pl->ptile;
    size_t p1 = p0 + pl->ptile < pl->osz ? p0 + pl->ptile : pl->osz;
    const float *xg = c->x + (img * pl->ci + grp * pl->cig) * pl->isz;
    im2col_nd(pl, xg, p0, p1, col);
    size_t c0 = grp * pl->cog;
    nn_post p = post_at(c, img, c0, p0);
    if (pl->bf16)
      pl->bf16(pl->cog, p1 - p0, pl->K, pl->wb16 + grp * pl->gpack16, col,
               p1 - p0, NULL, 0, c->y + (img * pl->co + c0) * pl->osz + p0,
               pl->osz, &p,
               bf16_bbuf(col, pl->K * pl->ptile * sizeof(float)));
    else
      nn_gemm_run(pl->kt, pl->cog, p1 - p0, pl->K, c->w + grp * pl->gpack,
                  col, p1 - p0, c->y + (img * pl->co + c0) * pl->osz + p0,
                  pl->osz, &p, 0);
  }
}

/* DWDOT's tasks [begin, end): the channels of each image in one run of
 * the kernel's dot products (one output each: Y is contiguous), then the
 * epilogue. */
static void dwdot_run(const conv_ctx *c, size_t begin, size_t end) {
  const conv_plan *pl = c->pl;
  for (size_t t = begin; t < end;) {
    size_t ch = t % pl->co, img = t / pl->co;
    size_t run = pl->co - ch < end - t ? pl->co - ch : end - t;
    float *yp = c->y + t;
    pl->kt->dots(c->x + t * pl->isz, c->w + ch * pl->kel, pl->isz, run, yp);
    nn_post p = post_at(c, img, ch, 0);
    for (size_t i = 0; i < run; i++)
      yp[i] = nn_post_apply(&p, i, yp[i], p.res ? p.res + i : NULL);
    t += run;
  }
}

/* Task = one (image, channel) plane of a depthwise conv. */
static void task_dw(void *ctx, size_t begin, size_t end, int tid) {
  const conv_ctx *c = ctx;
  const conv_plan *pl = c->pl;
  if (pl->path == PATH_DWDOT) {
    dwdot_run(c, begin, end);
    return;
  }
  for (size_t t = begin; t < end; t++) {
    size_t ch = t % pl->co, img = t / pl->co;
    const float *xp = c->x + t * pl->isz, *wc = c->w + ch * pl->kel;
    float *yp = c->y + t * pl->osz;
    nn_post p = post_at(c, img, ch, 0);
    p.ldr = pl->out[1]; /* the kernels step the residual plane by rows */
    switch (pl->path) {
    case PATH_DW3X3:
      (pl->s[0] == 1 ? pl->kt->dwconv3x3s1 : pl->kt->dwconv3x3s2)(
          xp, pl->in[0], pl->in[1], wc, yp, pl->out[0], pl->out[1], pl->pb[0],
          pl->pb[1], &p);
      break;
    default: {
      /* DWDIRECT: accumulate one output row at a time in scratch. */
      float *acc = nn_scratch(c->ex, tid);
      const size_t ih = pl->in[0], iw = pl->in[1], oh = pl->out[0],
                   ow = pl->out[1];
      const ptrdiff_t sx = (ptrdiff_t)pl->s[1];
      for (size_t oy = 0; oy < oh; oy++) {
        for (size_t ox = 0; ox < ow; ox++)
          acc[ox] = 0.0f;
        for (size_t ky = 0; ky < pl->k[0]; ky++) {
          ptrdiff_t iy = (ptrdiff_t)(oy * pl->s[0] + ky * pl->d[0]) -
                         (ptrdiff_t)pl->pb[0];
          if (iy < 0 || iy >= (ptrdiff_t)ih)
            continue;
          const float *row = xp + (size_t)iy * iw;
          for (size_t kx = 0; kx < pl->k[1]; kx++) {
            const float wv = wc[ky * pl->k[1] + kx];
            ptrdiff_t off = (ptrdiff_t)(kx * pl->d[1]) - (ptrdiff_t)pl->pb[1];
            /* ox range with 0 <= ox*sx + off < iw */
            ptrdiff_t lo = off < 0 ? (-off + sx - 1) / sx : 0;
            ptrdiff_t hi = (ptrdiff_t)iw - off <= 0
                               ? 0
                               : ((ptrdiff_t)iw - off + sx - 1) / sx;
            if (hi > (ptrdiff_t)ow)
              hi = (ptrdiff_t)ow;
            for (ptrdiff_t ox = lo; ox < hi; ox++)
              acc[ox] += wv * row[ox * sx + off];
          }
        }
        const float *rr = p.res ? p.res + oy * ow : NULL;
        float *yr = yp + oy * ow;
        for (size_t ox = 0; ox < ow; ox++)
          yr[ox] = nn_post_apply(&p, 0, acc[ox], rr ? rr + ox : NULL);
      }
      break;
    }
    }
  }
}

/* Task = (image, band of output rows): c->mchunk rows each, c->nmchunk
 * bands per image. */
static void task_direct(void *ctx, size_t begin, size_t end, int tid) {
  const conv_ctx *c = ctx;
  const conv_plan *pl = c->pl;
  (void)tid;
  for (size_t t = begin; t < end; t++) {
    size_t band = t % c->nmchunk, img = t / c->nmchunk;
    size_t oy0 = band * c->mchunk;
    size_t oy1 = oy0 + c->mchunk < pl->out[0] ? oy0 + c->mchunk : pl->out[0];
    nn_post p = post_at(c, img, 0, 0);
    if (pl->c3pairs) {
      pl->c3pairs(c->x + img * pl->ci * pl->isz, pl->ci, pl->in[0], pl->in[1],
                  pl->wb16, pl->co,
                  (uint32_t *)(void *)c->y + img * ((pl->co + 1) / 2) * pl->osz,
                  pl->osz, pl->out[1], oy0, oy1, pl->pb[0], pl->pb[1], &p);
      continue;
    }
    if (pl->c3bf16) {
      pl->c3bf16(c->x + img * pl->ci * pl->isz, pl->ci, pl->in[0], pl->in[1],
                 pl->wb16, pl->co, c->y + img * pl->co * pl->osz, pl->osz,
                 pl->out[1], oy0, oy1, pl->pb[0], pl->pb[1], &p);
      continue;
    }
    pl->kt->conv3x3s2c(c->x + img * pl->ci * pl->isz, pl->ci, pl->in[0],
                       pl->in[1], c->w, pl->co, c->y + img * pl->co * pl->osz,
                       pl->osz, pl->out[1], oy0, oy1, pl->pb[0], pl->pb[1],
                       &p);
  }
}

static argus_err conv_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  conv_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  const nn_value *x = nn_in(g, n, 0), *w = nn_in(g, n, 1), *b = nn_in(g, n, 2);
  const nn_value *y = nn_out(g, n, 0);
  conv_ctx c;
  memset(&c, 0, sizeof c);
  c.pl = pl;
  c.ex = ex;
  c.x = x->data;
  c.y = y->data;
  c.bias = b ? b->data : NULL;
  if (n->epi.residual >= 0 && n->epi.residual < g->nvalues) {
    const nn_value *r = &g->values[n->epi.residual];
    if (r->nelem != y->nelem || !r->data)
      return ARGUS_E_SHAPE;
    c.res = r->data;
  }
  c.post.act = n->epi.act;
  c.post.slope = n->epi.slope;
  c.post.slope_stride = n->epi.nslope == 1 ? 0 : 1;
  c.post.lo = n->epi.clip_min;
  c.post.hi = n->epi.clip_max;
  c.post.res_first = n->epi.add_before_act;
  if (n->epi.act != NN_ACT_PRELU)
    c.post.slope = NULL;
  size_t ntasks;
  argus_task_fn fn;
  switch (pl->path) {
  case PATH_GEMM1X1:
  case PATH_IGEMM:
  case PATH_IM2COL:
    if (pl->pack_at_run)
      pack_weights(pl->kt, w->data, pl->group, pl->cog, pl->K, pl->gpack,
                   pl->wbuf);
    c.w = pl->wpack;
    if (pl->path == PATH_GEMM1X1) {
      size_t panels = (pl->co + plan_mr(pl) - 1) / plan_mr(pl);
      size_t base = pl->n * pl->nptiles, want = 1;
      if (ex->nthreads > 1 && base < 4 * (size_t)ex->nthreads)
        want = (4 * (size_t)ex->nthreads + base - 1) / base;
      if (want > panels)
        want = panels;
      c.mchunk = (panels + want - 1) / want;
      c.nmchunk = (panels + c.mchunk - 1) / c.mchunk;
      ntasks = base * c.nmchunk;
      fn = task_gemm1x1;
    } else if (pl->path == PATH_IGEMM) {
      ntasks = pl->n * pl->group * pl->nbands;
      fn = task_igemm;
    } else {
      ntasks = pl->n * pl->group * pl->nptiles;
      fn = task_im2col;
    }
    break;
  case PATH_DIRECT3X3S2: {
    /* one band per image on one thread, else about four per thread */
    size_t want = 1, oh = pl->out[0];
    if (ex->nthreads > 1)
      want = (4 * (size_t)ex->nthreads + pl->n - 1) / pl->n;
    if (want > oh)
      want = oh;
    c.w = w->data;
    c.mchunk = (oh + want - 1) / want;
    c.nmchunk = (oh + c.mchunk - 1) / c.mchunk;
    ntasks = pl->n * c.nmchunk;
    fn = task_direct;
    break;
  }
  default:
    c.w = w->data;
    ntasks = pl->n * pl->co;
    fn = task_dw;
    break;
  }
  argus_threadpool_parallel_for(ex->pool, ntasks, 1, fn, &c);
  return ARGUS_OK;
}

const nn_op nn_op_conv = {
    .type = "Conv",
    .prepare = conv_prepare,
    .infer = conv_infer,
    .scratch = conv_scratch,
    .run = conv_run,
    .free_shared = conv_free_shared,
    .free_plan = conv_free_plan,
};

/* ---- Conv 1x1 -> depthwise Conv 3x3, fused ------------------------------
 *
 * optimize.c turns a pointwise Conv (1x1, stride 1, no pads, group 1, no
 * activation, constant W) whose only reader is a depthwise 3x3 Conv
 * (stride 1, dilation 1, pads 1) into one node with this op: inputs
 *   X, W1 [C, Cin, 1, 1], B1 (or -1), W2 [C, 1, 3, 3], B2 (or -1),
 * the depthwise node's attributes and epilogue. YuNet is made of such
 * pairs; on its large maps each conv alone streams its input and output
 * through memory (33 MB each at 1920x1088), and the intermediate is never
 * needed whole. Here each thread walks its output rows in bands: the
 * pointwise GEMM writes the rows of the intermediate the band needs into
 * scratch (the two rows the previous band already made are moved up, not
 * recomputed), and the depthwise kernel reads them from L2. The arithmetic
 * is that of the two convs run one after the other.
 *
 * When the depthwise conv's only reader is a MaxPool 2x2 stride 2 without
 * pads (YuNet's stage ends), optimize.c folds it in too
 * (nn_op_conv_pwdw_pool, op type "Conv+MaxPool"): the depthwise rows of a
 * band go to scratch and only the pooled rows are stored, so the full-size
 * map is never written at all. */

/* Floats of intermediate rows per band (all channels): 4 MiB, in L3. The
 * fused 64->64 node of YuNet at 480x272 took 10.0 ms with 1 MiB (bands of
 * 6 rows), 9.1 with 2 MiB and 8.8-9.3 with 4 MiB; 16->64 at 480x272 5.7,
 * 5.7 and 4.4-4.7 ms (unfused: 6.9-7.7 ms); 16->16 at 960x544 6.1 ms with
 * 4 MiB, 6.5-8.7 with 8 MiB (unfused 7.6-8.3). Minimum of 20-30 runs on a
 * shared machine. Small bands pay for the two rows moved up per band, for
 * the depthwise kernel's start on each strip, and for GEMM calls on few
 * columns. */
#define PWDW_BUF_FLOATS 1048576

typedef struct pwdw_shared {
  const nn_kernels *kt;
  size_t c, cin;
  float *wpack; /* W1 packed for kt */
} pwdw_shared;

typedef struct pwdw_plan {
  const nn_kernels *kt;
  const float *wpack;
  nn_bf16_gemm_fn bf16; /* non-NULL: the pointwise GEMM runs in bf16 or
                           int8 (nn_i8_gemm_fn) */
  uint32_t *wb16;       /* W1 packed for it (owned) */
  size_t n, c, cin, h, w;
  size_t band; /* depthwise rows per band; scratch holds band + 2 rows */
  size_t nc;   /* GEMM column block */
  int pool;    /* MaxPool 2x2 stride 2 after the depthwise conv */
  size_t hd;   /* depthwise rows computed: h, or 2 * (h / 2) when pooled */
  /* Set by nn_conv_pair_edges: X arrives as bf16 pairs (read by gp), Y
   * leaves as bf16 pairs (converted by cvt). */
  nn_bf16_gemm_pairs_fn gp;
  nn_bf16_pairs_fn cvt;
} pwdw_plan;

static void pwdw_free_shared(void *p) {
  pwdw_shared *s = p;
  if (s) {
    nn_free(s->wpack);
    free(s);
  }
}

static void pwdw_free_plan(void *p) {
  pwdw_plan *pl = p;
  if (pl) {
    nn_free(pl->wb16);
    free(pl);
  }
}

static argus_err pwdw_prepare(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *w1 = n->ninputs == 5 ? nn_in(g, n, 1) : NULL;
  if (!w1 || !w1->is_const || !w1->data || w1->dtype != NN_FLOAT ||
      w1->rank != 4 || w1->dims[0] < 1 || w1->dims[1] < 1 ||
      w1->dims[2] != 1 || w1->dims[3] != 1)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "Conv '%s': fused 1x1+depthwise node without a constant "
                   "1x1 weight",
                   nm(n));
  const nn_kernels *kt = nn_kernels_get();
  pwdw_shared *s = calloc(1, sizeof *s);
  if (!s)
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  s->kt = kt;
  s->c = (size_t)w1->dims[0];
  s->cin = (size_t)w1->dims[1];
  s->wpack = nn_alloc(nn_pack_a_size(kt->mr, s->c, s->cin) * sizeof(float));
  if (!s->wpack) {
    free(s);
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  }
  nn_pack_a(kt->mr, s->c, s->cin, w1->data, s->cin, 1, 1.0f, s->wpack);
  n->shared = s;
  return ARGUS_OK;
}

static argus_err pwdw_infer_any(nn_graph *g, nn_node *n, int pool,
                                nn_err *err) {
  const pwdw_shared *sh = n->shared;
  if (!sh || n->ninputs != 5 || n->noutputs != 1)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "Conv '%s': fused 1x1+depthwise node is malformed", nm(n));
  const nn_value *x = nn_in(g, n, 0), *b1 = nn_in(g, n, 2),
                 *w2 = nn_in(g, n, 3), *b2 = nn_in(g, n, 4);
  nn_value *y = nn_out(g, n, 0);
  if (!x || !w2 || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Conv '%s': needs inputs X and W and output Y", nm(n));
  if (x->dtype != NN_FLOAT || w2->dtype != NN_FLOAT ||
      (b1 && b1->dtype != NN_FLOAT) || (b2 && b2->dtype != NN_FLOAT))
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Conv '%s': only float inputs are supported", nm(n));
  const int64_t c = (int64_t)sh->c;
  if (x->rank != 4 || x->dims[1] != (int64_t)sh->cin || x->dims[2] < 1 ||
      x->dims[3] < 1)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': X must be [N, %zu, H, W] (rank %d, %lld "
                   "channels)",
                   nm(n), sh->cin, x->rank,
                   x->rank > 1 ? (long long)x->dims[1] : -1LL);
  if (w2->rank != 4 || w2->dims[0] != c || w2->dims[1] != 1 ||
      w2->dims[2] != 3 || w2->dims[3] != 3 || (b1 && b1->nelem != sh->c) ||
      (b2 && b2->nelem != sh->c))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': depthwise weight or a bias does not match %lld "
                   "channels",
                   nm(n), (long long)c);
  if (n->epi.act == NN_ACT_PRELU &&
      (!n->epi.slope || (n->epi.nslope != 1 && n->epi.nslope != c)))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Conv '%s': fused PRelu has %d slopes for %lld channels",
                   nm(n), n->epi.nslope, (long long)c);
  if (pool && (x->dims[2] < 2 || x->dims[3] < 2))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "MaxPool after Conv '%s': input %lldx%lld is smaller than "
                   "the 2x2 kernel",
                   nm(n), (long long)x->dims[2], (long long)x->dims[3]);
  if (pool && n->epi.residual >= 0)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "Conv '%s': a residual cannot follow a fused MaxPool",
                   nm(n));
  int64_t ydims[4] = {x->dims[0], c, x->dims[2], x->dims[3]};
  if (pool)
    ydims[2] /= 2, ydims[3] /= 2;
  argus_err e = nn_set_shape(y, NN_FLOAT, 4, ydims, err);
  if (e)
    return e;
  pwdw_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
  pl->kt = sh->kt;
  pl->wpack = sh->wpack;
  pl->n = (size_t)x->dims[0];
  pl->c = sh->c;
  pl->cin = sh->cin;
  pl->h = (size_t)x->dims[2];
  pl->w = (size_t)x->dims[3];
  pl->pool = pool;
  pl->hd = pool ? pl->h / 2 * 2 : pl->h;
  size_t rows = PWDW_BUF_FLOATS / (pl->c * pl->w);
  pl->band = rows > 3 ? rows - 2 : 1;
  if (pool) /* whole row pairs */
    pl->band = pl->band < 2 ? 2 : pl->band / 2 * 2;
  if (pl->band > pl->hd)
    pl->band = pl->hd;
  /* GEMM column blocks as GEMM1X1's tiles: the block of X stays in L2
   * while every panel of W1 passes over it. */
  size_t nr = pl->kt->nr;
  pl->nc = GEMM_TILE_FLOATS / pl->cin / nr * nr;
  if (pl->nc < nr)
    pl->nc = nr;
  const nn_value *w1 = nn_in(g, n, 1);
  if (w1 && w1->data && pl->c >= BF16_MIN_ROWS &&
      (pl->bf16 = lowp_gemm(g->precision)) != NULL) {
    size_t gp, panel;
    pl->wb16 = pack_lowp(g->precision, w1->data, 1, pl->c, pl->cin, &gp, &panel);
    if (!pl->wb16) {
      free(pl);
      return nn_fail(err, ARGUS_E_NOMEM, "Conv '%s': out of memory", nm(n));
    }
  }
  n->plan = pl;
  argus_log(ARGUS_LOG_DEBUG, "nn",
            "Conv '%s': 1x1%s%s+dw3x3%s fused, %zu->%zu channels, %zux%zu, "
            "band %zu rows",
            nm(n),
            pl->bf16 ? (g->precision == ARGUS_NN_PRECISION_INT8 ? " int8"
                                                                 : " bf16")
                     : "",
            n->epi.pw_relu ? "+relu" : "", pool ? "+maxpool2x2" : "",
            pl->cin, pl->c, pl->h, pl->w, pl->band);
  return ARGUS_OK;
}

static argus_err pwdw_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return pwdw_infer_any(g, n, 0, err);
}

static argus_err pwdw_pool_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return pwdw_infer_any(g, n, 1, err);
}

static size_t pwdw_scratch(const nn_graph *g, const nn_node *n) {
  const pwdw_plan *pl = n->plan;
  (void)g;
  if (!pl)
    return 0;
  size_t fl = (pl->band + 2) * pl->c * pl->w;
  if (pl->pool) /* one channel's depthwise rows of a band */
    fl += pl->band * pl->w;
  /* two channels' output rows of a band before their conversion; sized
   * whether or not nn_conv_pair_edges, which runs after this, sets cvt */
  if (pl->bf16)
    fl += 2 * pl->band * pl->w;
  return fl * sizeof(float) + (pl->bf16 ? bf16_scratch(pl->cin) : 0);
}

typedef struct pwdw_ctx {
  const pwdw_plan *pl;
  const float *x, *b1, *w2, *b2, *res;
  float *y;
  nn_post post; /* the depthwise epilogue; bias/res/slope set per channel */
  int pw_act;   /* the 1x1 half's: NN_ACT_NONE or NN_ACT_RELU */
  const nn_exec *ex;
  size_t nchunks, chunk; /* row chunks per image (threads), rows each */
} pwdw_ctx;

/* Task = (image, chunk of output rows). */
static void task_pwdw(void *ctx, size_t begin, size_t end, int tid) {
  const pwdw_ctx *c = ctx;
  const pwdw_plan *pl = c->pl;
  const size_t h = pl->h, w = pl->w, hw = h * w, ch = pl->c;
  const size_t ld = (pl->band + 2) * w; /* channel stride in scratch */
  const size_t ow = pl->pool ? w / 2 : w, ohw = pl->pool ? (h / 2) * ow : hw;
  float *t = nn_scratch(c->ex, tid);
  float *d = t + ch * ld; /* pooled: one channel's depthwise rows */
  /* bf16 pairs out: channels 2q and 2q+1's output rows of a band */
  float *e0 = d + (pl->pool ? pl->band * w : 0), *e1 = e0 + pl->band * w;
  uint32_t *bbuf =
      pl->bf16 ? bf16_bbuf(e1 + pl->band * w, 0) : NULL;
  const size_t chp = (ch + 1) / 2, cinp = (pl->cin + 1) / 2;
  nn_post p1;
  memset(&p1, 0, sizeof p1);
  p1.bias = c->b1;
  p1.act = c->pw_act;
  for (size_t task = begin; task < end; task++) {
    size_t img = task / c->nchunks, k = task % c->nchunks;
    size_t y0 = k * c->chunk;
    size_t y1 = y0 + c->chunk < pl->hd ? y0 + c->chunk : pl->hd;
    const float *x = c->x + img * pl->cin * hw;
    const uint32_t *xp = (const uint32_t *)(const void *)c->x + img * cinp * hw;
    /* scratch holds intermediate rows [t0, t1) */
    size_t t0 = 0, t1 = 0;
    for (size_t oy0 = y0; oy0 < y1; oy0 += pl->band) {
      size_t oy1 = oy0 + pl->band < y1 ? oy0 + pl->band : y1;
      size_t lo = oy0 > 0 ? oy0 - 1 : 0, hi = oy1 + 1 < h ? oy1 + 1 : h;
      size_t keep = t1 > lo && t0 <= lo ? t1 - lo : 0;
      if (keep && lo != t0)
        for (size_t q = 0; q < ch; q++)
          memmove(t + q * ld, t + q * ld + (lo - t0) * w,
                  keep * w * sizeof(float));
      t0 = lo;
      t1 = lo + keep;
      if (hi > t1 && pl->gp)
        pl->gp(ch, (hi - t1) * w, pl->cin, pl->wb16, xp + t1 * w, hw,
               t + (t1 - t0) * w, ld, &p1);
      else if (hi > t1 && pl->bf16)
        pl->bf16(ch, (hi - t1) * w, pl->cin, pl->wb16, x + t1 * w, hw, NULL,
                 0, t + (t1 - t0) * w, ld, &p1, bbuf);
      else if (hi > t1)
        nn_gemm_run(pl->kt, ch, (hi - t1) * w, pl->cin, pl->wpack,
                    x + t1 * w, hw, t + (t1 - t0) * w, ld, &p1, pl->nc);
      t1 = hi;
      for (size_t q = 0; q < ch; q++) {
        nn_post p = c->post;
        p.bias = c->b2 ? c->b2 + q : NULL;
        if (p.slope)
          p.slope += q * p.slope_stride;
        p.res = c->res ? c->res + (img * ch + q) * hw + oy0 * w : NULL;
        p.ldr = w;
        /* this band's output rows: in Y, or in e0/e1 before conversion */
        const size_t at = pl->pool ? oy0 / 2 * ow : oy0 * w;
        float *yo = pl->cvt ? (q & 1 ? e1 : e0) : c->y + (img * ch + q) * ohw + at;
        pl->kt->dwconv3x3s1(t + q * ld, t1 - t0, w, c->w2 + q * 9,
                            pl->pool ? d : yo, oy1 - oy0, w, lo + 1 - oy0, 1,
                            &p);
        if (pl->pool) /* oy0 and oy1 are even */
          for (size_t r = 0; r < oy1 - oy0; r += 2)
            pl->kt->maxpool2x2(d + r * w, d + (r + 1) * w, yo + r / 2 * ow,
                               ow);
        if (pl->cvt && ((q & 1) || q + 1 == ch)) {
          size_t nout = pl->pool ? (oy1 - oy0) / 2 * ow : (oy1 - oy0) * w;
          uint32_t *yp = (uint32_t *)(void *)c->y + (img * chp + q / 2) * ohw + at;
          pl->cvt(e0, q & 1 ? e1 : NULL, yp, nout);
        }
      }
    }
  }
}

static argus_err pwdw_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  const pwdw_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  const nn_value *x = nn_in(g, n, 0), *b1 = nn_in(g, n, 2),
                 *w2 = nn_in(g, n, 3), *b2 = nn_in(g, n, 4);
  const nn_value *y = nn_out(g, n, 0);
  pwdw_ctx c;
  memset(&c, 0, sizeof c);
  c.pl = pl;
  c.ex = ex;
  c.x = x->data;
  c.b1 = b1 ? b1->data : NULL;
  c.w2 = w2->data;
  c.b2 = b2 ? b2->data : NULL;
  c.y = y->data;
  if (n->epi.residual >= 0 && n->epi.residual < g->nvalues) {
    const nn_value *r = &g->values[n->epi.residual];
    if (r->nelem != y->nelem || !r->data)
      return ARGUS_E_SHAPE;
    c.res = r->data;
  }
  c.post.act = n->epi.act;
  c.post.slope = n->epi.act == NN_ACT_PRELU ? n->epi.slope : NULL;
  c.post.slope_stride = n->epi.nslope == 1 ? 0 : 1;
  c.post.lo = n->epi.clip_min;
  c.post.hi = n->epi.clip_max;
  c.post.res_first = n->epi.add_before_act;
  c.pw_act = n->epi.pw_relu ? NN_ACT_RELU : NN_ACT_NONE;
  /* One chunk of rows per image and thread (each chunk recomputes two
   * intermediate rows at its top edge). */
  size_t want = 1;
  if (ex->nthreads > 1 && pl->n < (size_t)ex->nthreads)
    want = ((size_t)ex->nthreads + pl->n - 1) / pl->n;
  if (want > pl->hd)
    want = pl->hd;
  c.chunk = (pl->hd + want - 1) / want;
  if (pl->pool) /* chunks of whole row pairs */
    c.chunk = (c.chunk + 1) / 2 * 2;
  c.nchunks = (pl->hd + c.chunk - 1) / c.chunk;
  argus_threadpool_parallel_for(ex->pool, pl->n * c.nchunks, 1, task_pwdw, &c);
  return ARGUS_OK;
}

/* Not in the registry: optimize.c sets it on the nodes it fuses. */
const nn_op nn_op_conv_pwdw = {
    .type = "Conv",
    .prepare = pwdw_prepare,
    .infer = pwdw_infer,
    .scratch = pwdw_scratch,
    .run = pwdw_run,
    .free_shared = pwdw_free_shared,
    .free_plan = pwdw_free_plan,
};

/* The same followed by MaxPool 2x2 stride 2 (optimize.c sets it). */
const nn_op nn_op_conv_pwdw_pool = {
    .type = "Conv+MaxPool",
    .prepare = pwdw_prepare,
    .infer = pwdw_pool_infer,
    .scratch = pwdw_scratch,
    .run = pwdw_run,
    .free_shared = pwdw_free_shared,
    .free_plan = pwdw_free_plan,
};

static int is_pwdw(const nn_node *n) {
  return !n->dead && n->plan &&
         (n->op == &nn_op_conv_pwdw || n->op == &nn_op_conv_pwdw_pool);
}

/* A node that can write its output as bf16 pairs: a fused node whose GEMM
 * runs in bf16, or a Conv on the bf16 direct 3x3 stride-2 path without a
 * residual. */
static int pairs_writer(const nn_node *n) {
  if (n->dead || !n->plan || n->noutputs != 1)
    return 0;
  if (is_pwdw(n))
    return ((const pwdw_plan *)n->plan)->bf16 != NULL;
  return n->op == &nn_op_conv && n->epi.residual < 0 &&
         ((const conv_plan *)n->plan)->c3bf16 != NULL;
}

/* See graph.h. A value qualifies when its producer is a fused node whose
 * pointwise GEMM runs in bf16 (or a Conv on the bf16 direct stride-2 path,
 * without a residual) and every reader is such a fused node reading it
 * as X only (not as another input, not as a residual), and it is not a
 * graph output: nothing else ever sees its bytes. */
int nn_conv_pair_edges(nn_graph *g) {
  nn_bf16_pairs_fn cvt = nn_bf16_pairs_get();
  nn_bf16_gemm_pairs_fn gp = nn_bf16_gemm_pairs_get();
  nn_bf16_conv3x3s2c_pairs_fn c3p = nn_bf16_conv3x3s2c_pairs_get();
  int count = 0;
  if (g->precision != ARGUS_NN_PRECISION_BF16 || !cvt || !gp || !c3p ||
      getenv("ARGUS_NN_NO_PAIRS"))
    return 0;
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *a = &g->nodes[i];
    if (!pairs_writer(a))
      continue;
    int v = a->out[0], readers = 0, ok = v >= 0 && !g->values[v].is_output;
    for (int j = 0; j < g->nnodes && ok; j++) {
      const nn_node *b = &g->nodes[j];
      if (b->dead)
        continue;
      int uses = b->epi.residual == v;
      for (int k = 0; k < b->ninputs; k++)
        uses += b->in[k] == v;
      if (!uses)
        continue;
      readers++;
      ok = is_pwdw(b) && uses == 1 && b->in[0] == v &&
           b->epi.residual != v && ((pwdw_plan *)b->plan)->bf16;
    }
    if (!ok || readers == 0)
      continue;
    if (is_pwdw(a))
      ((pwdw_plan *)a->plan)->cvt = cvt;
    else
      ((conv_plan *)a->plan)->c3pairs = c3p;
    for (int j = 0; j < g->nnodes; j++)
      if (!g->nodes[j].dead && g->nodes[j].ninputs > 0 &&
          g->nodes[j].in[0] == v)
        ((pwdw_plan *)g->nodes[j].plan)->gp = gp;
    argus_log(ARGUS_LOG_DEBUG, "nn",
              "Conv '%s': output '%s' kept as bf16 pairs (%d reader%s)",
              nm(a), g->values[v].name ? g->values[v].name : "", readers,
              readers == 1 ? "" : "s");
    count++;
  }
  return count;
}
