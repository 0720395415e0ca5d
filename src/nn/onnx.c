/* ONNX ModelProto / TensorProto parsing into nn_graph.
 *
 * Only what inference needs is kept. The file is untrusted: every count,
 * length, type and tensor size is validated, sizes are capped, and errors
 * name the node, attribute or tensor at fault. The host is little-endian
 * (x86-64), which is also the byte order of ONNX raw_data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.h"
#include "pb.h"

#define MAX_NODES 100000
#define MAX_VALUES 400000
#define MAX_NODE_IO 4096
#define MAX_ATTRS 1024
#define MAX_STRING 65536
#define MAX_OPSETS 64

/* Start of the file being parsed on this thread, for byte offsets in
 * messages. */
static _Thread_local const uint8_t *file_base;

/* "(varint cut off by the end of the data at byte 1234)" */
static const char *pb_why(char *buf, size_t len) {
  const uint8_t *where;
  const char *why = pb_last_error(&where);
  if (file_base && where >= file_base)
    snprintf(buf, len, "%s at byte %td", why, where - file_base);
  else
    snprintf(buf, len, "%s", why);
  return buf;
}

typedef struct span {
  const uint8_t *p;
  size_t len;
} span;

typedef struct span_list {
  span *v;
  int n, cap;
} span_list;

static int span_push(span_list *l, const uint8_t *p, size_t len, int limit) {
  if (l->n >= limit)
    return -1;
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    span *v = realloc(l->v, (size_t)cap * sizeof *v);
    if (!v)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].p = p;
  l->v[l->n].len = len;
  l->n++;
  return 0;
}

static char *dup_bytes(const uint8_t *p, size_t len) {
  char *s = malloc(len + 1);
  if (!s)
    return NULL;
  memcpy(s, p, len);
  s[len] = 0;
  return s;
}

/* A name must be non-empty-safe printable text for messages; NUL bytes would
 * make two different names compare equal, so they are refused. */
static int bad_name(const uint8_t *p, size_t len) {
  return len > MAX_STRING || memchr(p, 0, len) != NULL;
}

void nn_tensor_clear(nn_tensor *t) {
  if (!t)
    return;
  nn_free(t->data);
  memset(t, 0, sizeof *t);
}

/* Counts the elements of a packed or unpacked repeated numeric field. */
typedef struct num_field {
  const uint8_t *packed; /* packed payload, or NULL */
  size_t packed_len;
  size_t count;        /* elements seen unpacked */
  const uint8_t *first; /* start of the message, to re-scan unpacked ones */
} num_field;

/* Reads the values of repeated numeric field `num` (wire types varint or
 * fixed, packed or not) of the message in [msg, msg+len) into out (count
 * elements, of kind: 'v' varint, 'f' fixed32, 'd' fixed64). */
static int read_repeated(const uint8_t *msg, size_t len, uint32_t num,
                         char kind, void *out, size_t count) {
  pb_reader r = pb_init(msg, len);
  pb_field f;
  size_t k = 0;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num != num)
      continue;
    if (f.wire == PB_LEN) {
      pb_reader q = pb_init(f.data, f.len);
      while (!pb_eof(&q)) {
        if (k >= count)
          return -1;
        if (kind == 'v') {
          uint64_t v;
          if (pb_varint(&q, &v) < 0)
            return -1;
          ((uint64_t *)out)[k++] = v;
        } else if (kind == 'f') {
          if (q.end - q.p < 4)
            return -1;
          memcpy((uint32_t *)out + k++, q.p, 4);
          q.p += 4;
        } else {
          if (q.end - q.p < 8)
            return -1;
          memcpy((uint64_t *)out + k++, q.p, 8);
          q.p += 8;
        }
      }
    } else {
      if (k >= count)
        return -1;
      if (kind == 'v' && f.wire == PB_VARINT)
        ((uint64_t *)out)[k++] = f.u;
      else if (kind == 'f' && f.wire == PB_I32)
        ((uint32_t *)out)[k++] = (uint32_t)f.u;
      else if (kind == 'd' && f.wire == PB_I64)
        ((uint64_t *)out)[k++] = f.u;
      else
        return -1;
    }
  }
  return (rc < 0 || k != count) ? -1 : 0;
}

/* Counts elements of repeated numeric field `num`. */
static int count_repeated(const uint8_t *msg, size_t len, uint32_t num,
                          char kind, size_t *count) {
  pb_reader r = pb_init(msg, len);
  pb_field f;
  size_t k = 0;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num != num)
      continue;
    if (f.wire == PB_LEN) {
      if (kind == 'f') {
        if (f.len % 4)
          return -1;
        k += f.len / 4;
      } else if (kind == 'd') {
        if (f.len % 8)
          return -1;
        k += f.len / 8;
      } else {
        pb_reader q = pb_init(f.data, f.len);
        uint64_t v;
        while (!pb_eof(&q)) {
          if (pb_varint(&q, &v) < 0)
            return -1;
          k++;
        }
      }
    } else {
      k++;
    }
    if (k > NN_MAX_ELEMS)
      return -1;
  }
  if (rc < 0)
    return -1;
  *count = k;
  return 0;
}

argus_err nn_onnx_parse_tensor(const uint8_t *buf, size_t len, nn_tensor *t,
                               char **name_out, nn_err *err) {
  memset(t, 0, sizeof *t);
  pb_clear_error();
  if (name_out)
    *name_out = NULL;
  pb_reader r = pb_init(buf, len);
  pb_field f;
  int rc;
  int64_t dtype = 0;
  int rank = 0;
  const uint8_t *raw = NULL;
  size_t raw_len = 0;
  int has_raw = 0, external = 0, segment = 0;
  const uint8_t *name = NULL;
  size_t name_len = 0;
  char tname[80] = "(unnamed)";
  char shp[160];

  /* First pass: scalars, name, raw data and the data location. */
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 2:
      if (f.wire != PB_VARINT)
        goto malformed;
      dtype = (int64_t)f.u;
      break;
    case 3:
      segment = 1;
      break;
    case 8:
      if (f.wire != PB_LEN || bad_name(f.data, f.len))
        goto malformed;
      name = f.data;
      name_len = f.len;
      break;
    case 9:
      if (f.wire != PB_LEN)
        goto malformed;
      raw = f.data;
      raw_len = f.len;
      has_raw = 1;
      break;
    case 13:
      external = 1;
      break;
    case 14:
      if (f.wire != PB_VARINT)
        goto malformed;
      if (f.u == 1)
        external = 1;
      break;
    default:
      break;
    }
  }
  if (rc < 0)
    goto malformed;
  if (name) {
    size_t l = name_len < sizeof tname - 1 ? name_len : sizeof tname - 1;
    memcpy(tname, name, l);
    tname[l] = 0;
  }
  if (external)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': external data is not supported (store the "
                   "weights inside the .onnx file)",
                   tname);
  if (segment)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': segmented tensors are not supported", tname);

  /* dims */
  size_t ndims;
  uint64_t dims[NN_MAX_RANK];
  if (count_repeated(buf, len, 1, 'v', &ndims) < 0)
    goto malformed;
  if (ndims > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': rank %zu exceeds the limit of %d", tname,
                   ndims, NN_MAX_RANK);
  if (read_repeated(buf, len, 1, 'v', dims, ndims) < 0)
    goto malformed;
  rank = (int)ndims;
  t->rank = rank;
  for (int i = 0; i < rank; i++)
    t->dims[i] = (int64_t)dims[i];
  t->nelem = nn_shape_count(rank, t->dims);
  if (t->nelem == SIZE_MAX)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "tensor '%s': dims %s are negative or too large", tname,
                   nn_shape_str(rank, t->dims, shp, sizeof shp));
  size_t esize = nn_dtype_size((int)dtype);
  if (dtype <= 0 || dtype > 16)
    return nn_fail(err, ARGUS_E_CORRUPT, "tensor '%s': invalid data type %lld",
                   tname, (long long)dtype);
  if (esize == 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': element type %s is not supported", tname,
                   nn_dtype_name((int)dtype));
  t->dtype = (int)dtype;
  size_t bytes = t->nelem * esize;

  /* Every size is checked against the file before anything is allocated,
   * so a small hostile file cannot ask for gigabytes. */
  uint32_t field = 0;
  char kind = 0;
  size_t count = 0;
  if (has_raw) {
    if (raw_len != bytes)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "tensor '%s': raw_data holds %zu bytes but %s %s needs "
                     "%zu",
                     tname, raw_len, nn_dtype_name((int)dtype),
                     nn_shape_str(rank, t->dims, shp, sizeof shp), bytes);
  } else {
    switch (t->dtype) {
    case NN_FLOAT: field = 4; kind = 'f'; break;
    case NN_INT32: case NN_INT16: case NN_INT8: case NN_UINT16:
    case NN_UINT8: case NN_BOOL: case NN_FLOAT16:
      field = 5; kind = 'v'; break;
    case NN_INT64: field = 7; kind = 'v'; break;
    case NN_DOUBLE: field = 10; kind = 'd'; break;
    case NN_UINT32: case NN_UINT64: field = 11; kind = 'v'; break;
    default:
      return nn_fail(err, ARGUS_E_UNSUPPORTED, "tensor '%s': element type %s",
                     tname, nn_dtype_name((int)dtype));
    }
    if (count_repeated(buf, len, field, kind, &count) < 0)
      goto malformed;
    if (count != t->nelem)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "tensor '%s': holds %zu values but dims %s need %zu",
                     tname, count, nn_shape_str(rank, t->dims, shp, sizeof shp),
                     t->nelem);
  }
  t->data = nn_alloc(bytes);
  if (!t->data)
    return nn_fail(err, ARGUS_E_NOMEM, "tensor '%s': out of memory (%zu bytes)",
                   tname, bytes);
  if (has_raw) {
    if (bytes)
      memcpy(t->data, raw, bytes);
  } else if (kind == 'f' || kind == 'd') {
    if (read_repeated(buf, len, field, kind, t->data, count) < 0)
      goto malformed;
  } else if (count) {
    uint64_t *tmp = malloc(count * sizeof *tmp);
    if (!tmp) {
      nn_tensor_clear(t);
      return nn_fail(err, ARGUS_E_NOMEM, "tensor '%s': out of memory", tname);
    }
    if (read_repeated(buf, len, field, kind, tmp, count) < 0) {
      free(tmp);
      goto malformed;
    }
    for (size_t i = 0; i < count; i++) {
      uint64_t v = tmp[i];
      switch (esize) {
      case 1: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
      case 2: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
      case 4: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
      default: ((uint64_t *)t->data)[i] = v; break;
      }
    }
    free(tmp);
  }
  if (name_out && name) {
    *name_out = dup_bytes(name, name_len);
    if (!*name_out) {
      nn_tensor_clear(t);
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    }
  }
  return ARGUS_OK;
malformed:
  nn_tensor_clear(t);
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "tensor '%s': malformed protobuf (%s)",
                 tname, pb_why(why, sizeof why));
}

/* ---- ValueInfoProto ---------------------------------------------------- */

/* Parses name, elem_type and shape (unknown dims as -1). */
static argus_err parse_value_info(const span *s, char **name, int *dtype,
                                  int *rank, int64_t *dims, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  int rc;
  *name = NULL;
  *dtype = 0;
  *rank = -1;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num == 1 && f.wire == PB_LEN) {
      if (bad_name(f.data, f.len))
        goto malformed;
      free(*name);
      *name = dup_bytes(f.data, f.len);
      if (!*name)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    } else if (f.num == 2 && f.wire == PB_LEN) {
      pb_reader tr = pb_init(f.data, f.len);
      pb_field tf;
      int trc;
      while ((trc = pb_next(&tr, &tf)) == 1) {
        if (tf.num != 1 || tf.wire != PB_LEN)
          continue; /* only tensor types */
        pb_reader er = pb_init(tf.data, tf.len);
        pb_field ef;
        int erc;
        while ((erc = pb_next(&er, &ef)) == 1) {
          if (ef.num == 1 && ef.wire == PB_VARINT) {
            *dtype = (int)ef.u;
          } else if (ef.num == 2 && ef.wire == PB_LEN) {
            pb_reader sr = pb_init(ef.data, ef.len);
            pb_field sf;
            int src;
            *rank = 0;
            while ((src = pb_next(&sr, &sf)) == 1) {
              if (sf.num != 1 || sf.wire != PB_LEN)
                continue;
              if (*rank >= NN_MAX_RANK) {
                char nm[80] = "";
                if (*name)
                  snprintf(nm, sizeof nm, "%s", *name);
                return nn_fail(err, ARGUS_E_UNSUPPORTED,
                               "value '%s': rank exceeds the limit of %d", nm,
                               NN_MAX_RANK);
              }
              int64_t d = -1;
              pb_reader dr = pb_init(sf.data, sf.len);
              pb_field df;
              int drc;
              while ((drc = pb_next(&dr, &df)) == 1)
                if (df.num == 1 && df.wire == PB_VARINT)
                  d = (int64_t)df.u;
              if (drc < 0)
                goto malformed;
              dims[(*rank)++] = d;
            }
            if (src < 0)
              goto malformed;
          }
        }
        if (erc < 0)
          goto malformed;
      }
      if (trc < 0)
        goto malformed;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!*name)
    return nn_fail(err, ARGUS_E_CORRUPT, "graph input/output without a name");
  return ARGUS_OK;
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT,
                 "malformed graph input/output description (%s)",
                 pb_why(why, sizeof why));
}
}

/* ---- AttributeProto ---------------------------------------------------- */

static argus_err parse_attr(const span *s, nn_attr *a, const char *node,
                            nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  int rc;
  int64_t type = 0;
  int have_t = 0, have_g = 0;
  const uint8_t *tdata = NULL;
  size_t tlen = 0;
  memset(a, 0, sizeof *a);
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != PB_LEN || bad_name(f.data, f.len))
        goto malformed;
      free(a->name);
      a->name = dup_bytes(f.data, f.len);
      if (!a->name)
        goto nomem;
      break;
    case 20:
      if (f.wire != PB_VARINT)
        goto malformed;
      type = (int64_t)f.u;
      break;
    case 2:
      if (f.wire != PB_I32)
        goto malformed;
      {
        uint32_t u = (uint32_t)f.u;
        memcpy(&a->f, &u, 4);
      }
      break;
    case 3:
      if (f.wire != PB_VARINT)
        goto malformed;
      a->i = (int64_t)f.u;
      break;
    case 4:
      if (f.wire != PB_LEN || f.len > MAX_STRING)
        goto malformed;
      free(a->s);
      a->s = dup_bytes(f.data, f.len);
      if (!a->s)
        goto nomem;
      a->s_len = f.len;
      break;
    case 5:
      if (f.wire != PB_LEN)
        goto malformed;
      have_t = 1;
      tdata = f.data;
      tlen = f.len;
      break;
    case 6:
    case 11:
      have_g = 1;
      break;
    case 21:
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "node '%s': attribute references (functions) are not "
                     "supported",
                     node);
    default:
      break;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!a->name)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s': attribute without a name",
                   node);
  if (type < 0 || type > 13)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s': attribute '%s' has invalid type %lld", node,
                   a->name, (long long)type);
  a->type = (int)type;
  switch (a->type) {
  case NN_ATTR_FLOAT:
  case NN_ATTR_INT:
    break;
  case NN_ATTR_STRING:
    if (!a->s) {
      a->s = dup_bytes((const uint8_t *)"", 0);
      if (!a->s)
        goto nomem;
    }
    break;
  case NN_ATTR_TENSOR: {
    if (!have_t)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s': tensor attribute '%s' has no tensor", node,
                     a->name);
    a->t = calloc(1, sizeof *a->t);
    if (!a->t)
      goto nomem;
    nn_err terr;
    argus_err e = nn_onnx_parse_tensor(tdata, tlen, a->t, NULL, &terr);
    if (e) {
      free(a->t);
      a->t = NULL;
      return nn_fail(err, e, "node '%s': attribute '%s': %s", node, a->name,
                     terr.msg);
    }
    break;
  }
  case NN_ATTR_INTS: {
    size_t n;
    if (count_repeated(s->p, s->len, 8, 'v', &n) < 0)
      goto malformed;
    if (n > (1u << 20))
      return nn_fail(err, ARGUS_E_LIMIT, "node '%s': attribute '%s' too long",
                     node, a->name);
    a->ints = malloc((n ? n : 1) * sizeof *a->ints);
    if (!a->ints)
      goto nomem;
    if (read_repeated(s->p, s->len, 8, 'v', a->ints, n) < 0)
      goto malformed;
    a->count = n;
    break;
  }
  case NN_ATTR_FLOATS: {
    size_t n;
    if (count_repeated(s->p, s->len, 7, 'f', &n) < 0)
      goto malformed;
    if (n > (1u << 20))
      return nn_fail(err, ARGUS_E_LIMIT, "node '%s': attribute '%s' too long",
                     node, a->name);
    a->floats = malloc((n ? n : 1) * sizeof *a->floats);
    if (!a->floats)
      goto nomem;
    if (read_repeated(s->p, s->len, 7, 'f', a->floats, n) < 0)
      goto malformed;
    a->count = n;
    break;
  }
  case NN_ATTR_STRINGS:
    break; /* kept by name only; no supported op reads string lists */
  case NN_ATTR_GRAPH:
  case 10: /* GRAPHS */
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': attribute '%s' holds a sub-graph (control flow "
                   "is not supported)",
                   node, a->name);
  default:
    if (have_g)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "node '%s': attribute '%s' holds a sub-graph", node,
                     a->name);
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': attribute '%s' of type %d is not supported",
                   node, a->name, a->type);
  }
  return ARGUS_OK;
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "node '%s': malformed attribute%s%s (%s)",
                 node, a->name ? " " : "", a->name ? a->name : "",
                 pb_why(why, sizeof why));
}
nomem:
  return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
}

/* ---- NodeProto --------------------------------------------------------- */

typedef struct opset_entry {
  char domain[64];
  int version;
} opset_entry;

static int opset_for(const opset_entry *ops, int nops, const char *domain) {
  const char *d = (domain && strcmp(domain, "ai.onnx") == 0) ? "" : domain;
  for (int i = 0; i < nops; i++)
    if (strcmp(ops[i].domain, d ? d : "") == 0)
      return ops[i].version;
  return -1;
}

static argus_err resolve_input(nn_graph *g, nn_node *n, int k,
                               const uint8_t *p, size_t len, nn_err *err) {
  if (len == 0) {
    n->in[k] = -1; /* omitted optional input */
    return ARGUS_OK;
  }
  char *nm = dup_bytes(p, len);
  if (!nm)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  int v = nn_graph_find_value(g, nm);
  if (v < 0 || (g->values[v].producer < 0 && !g->values[v].is_input &&
                !g->values[v].is_const)) {
    argus_err e = nn_fail(err, ARGUS_E_CORRUPT,
                          "node '%s' (%s): input '%s' is not a graph input, "
                          "initializer or output of an earlier node",
                          n->name, n->op_type, nm);
    free(nm);
    return e;
  }
  free(nm);
  n->in[k] = v;
  g->values[v].nuses++;
  return ARGUS_OK;
}

static argus_err parse_node(nn_graph *g, const span *s, int index,
                            const opset_entry *ops, int nops, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  int rc;
  nn_node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->epi.residual = -1;
  g->nnodes++; /* counted now so that nn_graph_free releases partial nodes */
  size_t nin = 0, nout = 0, nattr = 0;
  char fallback[32];

  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN)
      continue;
    switch (f.num) {
    case 1: nin++; break;
    case 2: nout++; break;
    case 3:
      if (bad_name(f.data, f.len))
        goto malformed;
      free(n->name);
      n->name = dup_bytes(f.data, f.len);
      if (!n->name)
        goto nomem;
      break;
    case 4:
      if (bad_name(f.data, f.len) || f.len > 128)
        goto malformed;
      free(n->op_type);
      n->op_type = dup_bytes(f.data, f.len);
      if (!n->op_type)
        goto nomem;
      break;
    case 5: nattr++; break;
    case 7:
      if (bad_name(f.data, f.len) || f.len > 128)
        goto malformed;
      free(n->domain);
      n->domain = dup_bytes(f.data, f.len);
      if (!n->domain)
        goto nomem;
      break;
    default: break;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!n->name || !*n->name) {
    free(n->name);
    snprintf(fallback, sizeof fallback, "#%d", index);
    n->name = strdup(fallback);
    if (!n->name)
      goto nomem;
  }
  if (!n->op_type)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' has no op_type", n->name);
  if (!n->domain) {
    n->domain = strdup("");
    if (!n->domain)
      goto nomem;
  }
  if (nin > MAX_NODE_IO || nout > MAX_NODE_IO || nattr > MAX_ATTRS)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (%s): too many inputs, outputs or attributes",
                   n->name, n->op_type);
  n->opset = opset_for(ops, nops, n->domain);
  if (n->opset < 0)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): domain '%s' is not in the model's "
                   "opset_import",
                   n->name, n->op_type, n->domain);
  n->op = nn_op_find(n->domain, n->op_type);
  if (!n->op)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': operator %s%s%s is not supported", n->name,
                   *n->domain ? n->domain : "", *n->domain ? "." : "",
                   n->op_type);

  n->in = malloc((nin ? nin : 1) * sizeof *n->in);
  n->out = malloc((nout ? nout : 1) * sizeof *n->out);
  n->attrs = calloc(nattr ? nattr : 1, sizeof *n->attrs);
  if (!n->in || !n->out || !n->attrs)
    goto nomem;

  r = pb_init(s->p, s->len);
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN)
      continue;
    if (f.num == 1) {
      if (bad_name(f.data, f.len))
        goto malformed;
      argus_err e = resolve_input(g, n, n->ninputs, f.data, f.len, err);
      n->ninputs++;
      if (e)
        return e;
    } else if (f.num == 5) {
      span as = {f.data, f.len};
      argus_err e = parse_attr(&as, &n->attrs[n->nattrs], n->name, err);
      n->nattrs++;
      if (e)
        return e;
      for (int j = 0; j < n->nattrs - 1; j++)
        if (strcmp(n->attrs[j].name, n->attrs[n->nattrs - 1].name) == 0)
          return nn_fail(err, ARGUS_E_CORRUPT,
                         "node '%s' (%s): attribute '%s' appears twice",
                         n->name, n->op_type, n->attrs[j].name);
    }
  }
  /* Outputs after inputs, so that a node cannot read its own output. */
  r = pb_init(s->p, s->len);
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN || f.num != 2)
      continue;
    if (bad_name(f.data, f.len))
      goto malformed;
    if (f.len == 0) {
      n->out[n->noutputs++] = -1; /* omitted optional output */
      continue;
    }
    char *nm = dup_bytes(f.data, f.len);
    if (!nm)
      goto nomem;
    if (nn_graph_find_value(g, nm) >= 0) {
      argus_err e = nn_fail(err, ARGUS_E_CORRUPT,
                            "node '%s' (%s): output '%s' is already defined "
                            "(graphs must be in SSA form)",
                            n->name, n->op_type, nm);
      free(nm);
      return e;
    }
    if (g->nvalues >= MAX_VALUES) {
      free(nm);
      return nn_fail(err, ARGUS_E_LIMIT, "too many values in the graph");
    }
    int v = nn_graph_add_value(g, nm);
    free(nm);
    if (v < 0)
      goto nomem;
    g->values[v].producer = g->nnodes - 1;
    n->out[n->noutputs++] = v;
  }
  return ARGUS_OK;
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "node #%d: malformed protobuf (%s)",
                 index, pb_why(why, sizeof why));
}
nomem:
  return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
}

/* ---- GraphProto / ModelProto ------------------------------------------- */

static argus_err parse_graph(nn_graph *g, const uint8_t *p, size_t len,
                             const opset_entry *ops, int nops, nn_err *err) {
  span_list nodes = {0}, inits = {0}, inputs = {0}, outputs = {0};
  argus_err e = ARGUS_OK;
  pb_reader r = pb_init(p, len);
  pb_field f;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN)
      continue;
    int ok = 0;
    switch (f.num) {
    case 1: ok = span_push(&nodes, f.data, f.len, MAX_NODES); break;
    case 5: ok = span_push(&inits, f.data, f.len, MAX_VALUES); break;
    case 11: ok = span_push(&inputs, f.data, f.len, MAX_NODE_IO); break;
    case 12: ok = span_push(&outputs, f.data, f.len, MAX_NODE_IO); break;
    case 15:
      e = nn_fail(err, ARGUS_E_UNSUPPORTED,
                  "sparse initializers are not supported");
      goto done;
    default: break;
    }
    if (ok < 0) {
      e = nn_fail(err, ARGUS_E_LIMIT,
                  "graph has too many nodes, initializers or inputs");
      goto done;
    }
  }
  if (rc < 0) {
    char why[160];
    e = nn_fail(err, ARGUS_E_CORRUPT, "malformed graph protobuf (%s)",
                pb_why(why, sizeof why));
    goto done;
  }
  if (nodes.n == 0) {
    e = nn_fail(err, ARGUS_E_CORRUPT, "the graph has no nodes");
    goto done;
  }

  /* Initializers become constant values. */
  for (int i = 0; i < inits.n; i++) {
    nn_tensor t;
    char *name = NULL;
    e = nn_onnx_parse_tensor(inits.v[i].p, inits.v[i].len, &t, &name, err);
    if (e)
      goto done;
    if (!name || !*name) {
      free(name);
      nn_tensor_clear(&t);
      e = nn_fail(err, ARGUS_E_CORRUPT, "initializer #%d has no name", i);
      goto done;
    }
    if (nn_graph_find_value(g, name) >= 0) {
      e = nn_fail(err, ARGUS_E_CORRUPT, "initializer '%s' is defined twice",
                  name);
      free(name);
      nn_tensor_clear(&t);
      goto done;
    }
    int v = nn_graph_add_value(g, name);
    free(name);
    if (v < 0) {
      nn_tensor_clear(&t);
      e = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      goto done;
    }
    nn_value *val = &g->values[v];
    val->dtype = t.dtype;
    val->rank = t.rank;
    memcpy(val->dims, t.dims, sizeof t.dims);
    val->nelem = t.nelem;
    val->data = t.data;
    val->is_const = 1;
    val->owns_data = 1;
  }

  /* Graph inputs: those that are initializers too keep the constant (the
   * ONNX IR allows a caller to override them; argus treats them as fixed). */
  g->inputs = malloc((size_t)(inputs.n ? inputs.n : 1) * sizeof *g->inputs);
  if (!g->inputs) {
    e = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  for (int i = 0; i < inputs.n; i++) {
    char *name;
    int dtype, rank;
    int64_t dims[NN_MAX_RANK];
    e = parse_value_info(&inputs.v[i], &name, &dtype, &rank, dims, err);
    if (e) {
      free(name);
      goto done;
    }
    int v = nn_graph_find_value(g, name);
    if (v >= 0 && g->values[v].is_const) {
      free(name);
      continue;
    }
    if (v >= 0) {
      e = nn_fail(err, ARGUS_E_CORRUPT, "graph input '%s' is listed twice",
                  name);
      free(name);
      goto done;
    }
    v = nn_graph_add_value(g, name);
    free(name);
    if (v < 0) {
      e = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      goto done;
    }
    nn_value *val = &g->values[v];
    val->is_input = 1;
    val->dtype = dtype;
    val->rank = rank;
    if (rank > 0)
      memcpy(val->dims, dims, (size_t)rank * sizeof dims[0]);
    if (nn_dtype_size(dtype) == 0) {
      e = nn_fail(err, ARGUS_E_UNSUPPORTED,
                  "graph input '%s': element type %s is not supported",
                  val->name, nn_dtype_name(dtype));
      goto done;
    }
    if (rank < 0) {
      e = nn_fail(err, ARGUS_E_UNSUPPORTED,
                  "graph input '%s' has no shape; argus needs input ranks",
                  val->name);
      goto done;
    }
    g->inputs[g->ninputs++] = v;
  }

  g->nodes = calloc((size_t)nodes.n, sizeof *g->nodes);
  if (!g->nodes) {
    e = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  g->cap_nodes = nodes.n;
  for (int i = 0; i < nodes.n; i++) {
    e = parse_node(g, &nodes.v[i], i, ops, nops, err);
    if (e)
      goto done;
  }

  g->outputs = malloc((size_t)(outputs.n ? outputs.n : 1) * sizeof *g->outputs);
  if (!g->outputs) {
    e = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  if (outputs.n == 0) {
    e = nn_fail(err, ARGUS_E_CORRUPT, "the graph declares no outputs");
    goto done;
  }
  for (int i = 0; i < outputs.n; i++) {
    char *name;
    int dtype, rank;
    int64_t dims[NN_MAX_RANK];
    e = parse_value_info(&outputs.v[i], &name, &dtype, &rank, dims, err);
    if (e) {
      free(name);
      goto done;
    }
    int v = nn_graph_find_value(g, name);
    if (v < 0) {
      e = nn_fail(err, ARGUS_E_CORRUPT,
                  "graph output '%s' is not produced by any node", name);
      free(name);
      goto done;
    }
    free(name);
    g->values[v].is_output = 1;
    g->values[v].nuses++;
    g->outputs[g->noutputs++] = v;
  }
done:
  free(nodes.v);
  free(inits.v);
  free(inputs.v);
  free(outputs.v);
  return e;
}

argus_err nn_onnx_parse_model(const uint8_t *buf, size_t len, nn_graph *g,
                              nn_err *err) {
  memset(g, 0, sizeof *g);
  pb_reader r = pb_init(buf, len);
  pb_field f;
  int rc;
  const uint8_t *graph = NULL;
  size_t graph_len = 0;
  opset_entry ops[MAX_OPSETS];
  int nops = 0;
  int have_ir = 0;

  if (!buf || len == 0)
    return nn_fail(err, ARGUS_E_CORRUPT, "empty model file");
  file_base = buf;
  pb_clear_error();
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != PB_VARINT)
        goto malformed;
      g->ir_version = (int64_t)f.u;
      have_ir = 1;
      break;
    case 2:
      if (f.wire != PB_LEN)
        goto malformed;
      free(g->producer);
      g->producer = dup_bytes(f.data, f.len > 128 ? 128 : f.len);
      if (!g->producer)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      break;
    case 7:
      if (f.wire != PB_LEN)
        goto malformed;
      graph = f.data;
      graph_len = f.len;
      break;
    case 8: {
      if (f.wire != PB_LEN)
        goto malformed;
      if (nops >= MAX_OPSETS)
        return nn_fail(err, ARGUS_E_LIMIT, "too many opset imports");
      opset_entry *o = &ops[nops];
      memset(o, 0, sizeof *o);
      o->version = -1;
      pb_reader q = pb_init(f.data, f.len);
      pb_field of;
      int orc;
      while ((orc = pb_next(&q, &of)) == 1) {
        if (of.num == 1 && of.wire == PB_LEN) {
          if (of.len >= sizeof o->domain || bad_name(of.data, of.len))
            goto malformed;
          memcpy(o->domain, of.data, of.len);
          o->domain[of.len] = 0;
        } else if (of.num == 2 && of.wire == PB_VARINT) {
          if (of.u > 1000)
            goto malformed;
          o->version = (int)of.u;
        }
      }
      if (orc < 0 || o->version < 0)
        goto malformed;
      if (strcmp(o->domain, "ai.onnx") == 0)
        o->domain[0] = 0;
      nops++;
      break;
    }
    case 20:
    case 25:
      break; /* training info and functions are ignored */
    default:
      break;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!have_ir || !graph)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "not an ONNX model (no ir_version or no graph)");
  if (nops == 0) {
    /* IR version 1/2 files without opset_import mean opset 1. */
    memset(&ops[0], 0, sizeof ops[0]);
    ops[0].version = 1;
    nops = 1;
  }
  g->opset = opset_for(ops, nops, "");
  if (g->opset < 0)
    g->opset = 0;
  return parse_graph(g, graph, graph_len, ops, nops, err);
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "malformed ONNX model protobuf (%s)",
                 pb_why(why, sizeof why));
}
}
