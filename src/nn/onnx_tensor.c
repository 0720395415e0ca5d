/* ONNX TensorProto and AttributeProto parsing: the parser's leaves, apart
 * from the model and graph structure in onnx.c because the ONNX backend
 * tests and the tensor fuzzer read TensorProtos on their own.
 *
 * The bytes are untrusted: every count, length, type and tensor size is
 * checked against the buffer before anything is allocated, and errors name
 * the tensor or attribute at fault. The host is little-endian (x86-64),
 * which is also the byte order of ONNX raw_data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "pb.h"

_Thread_local const uint8_t *nn_onnx_file_base;

const char *nn_onnx_pb_why(char *buf, size_t len) {
  const uint8_t *where;
  const char *why = pb_last_error(&where);
  if (nn_onnx_file_base && where >= nn_onnx_file_base)
    snprintf(buf, len, "%s at byte %td", why, where - nn_onnx_file_base);
  else
    snprintf(buf, len, "%s", why);
  return buf;
}

char *nn_onnx_dup_bytes(const uint8_t *p, size_t len) {
  char *s = malloc(len + 1);
  if (!s)
    return NULL;
  memcpy(s, p, len);
  s[len] = 0;
  return s;
}

int nn_onnx_bad_name(const uint8_t *p, size_t len) {
  return len > NN_ONNX_MAX_STRING || memchr(p, 0, len) != NULL;
}

void nn_tensor_clear(nn_tensor *t) {
  if (!t)
    return;
  nn_free(t->data);
  memset(t, 0, sizeof *t);
}

/* ---- repeated numeric fields ------------------------------------------- */

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

/* ---- TensorProto ------------------------------------------------------- */

/* What the first pass over a TensorProto finds. */
typedef struct tensor_fields {
  int64_t dtype;
  const uint8_t *raw;
  size_t raw_len;
  int has_raw, external, segment;
  const uint8_t *name;
  size_t name_len;
  char tname[80]; /* the name for messages, cut to fit */
} tensor_fields;

/* Where the values are when there is no raw_data: field number and kind
 * (as for read_repeated), and how many there are. */
typedef struct tensor_values {
  uint32_t field;
  char kind;
  size_t count;
} tensor_values;

/* Clears t and reports the last protobuf error for tensor tname. */
static argus_err tensor_malformed(nn_tensor *t, const char *tname,
                                  nn_err *err) {
  nn_tensor_clear(t);
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "tensor '%s': malformed protobuf (%s)",
                 tname, nn_onnx_pb_why(why, sizeof why));
}

/* First pass: scalars, name, raw data and the data location. Returns -1 if
 * the message is malformed. */
static int tensor_scan(const uint8_t *buf, size_t len, tensor_fields *tf) {
  pb_reader r = pb_init(buf, len);
  pb_field f;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 2:
      if (f.wire != PB_VARINT)
        return -1;
      tf->dtype = (int64_t)f.u;
      break;
    case 3:
      tf->segment = 1;
      break;
    case 8:
      if (f.wire != PB_LEN || nn_onnx_bad_name(f.data, f.len))
        return -1;
      tf->name = f.data;
      tf->name_len = f.len;
      break;
    case 9:
      if (f.wire != PB_LEN)
        return -1;
      tf->raw = f.data;
      tf->raw_len = f.len;
      tf->has_raw = 1;
      break;
    case 13:
      tf->external = 1;
      break;
    case 14:
      if (f.wire != PB_VARINT)
        return -1;
      if (f.u == 1)
        tf->external = 1;
      break;
    default:
      break;
    }
  }
  return rc < 0 ? -1 : 0;
}

/* Reads the dims into t (rank, dims, nelem) and checks them and the data
 * type, which it stores in t->dtype. */
static argus_err tensor_shape(const uint8_t *buf, size_t len,
                              const tensor_fields *tf, nn_tensor *t,
                              nn_err *err) {
  const char *tname = tf->tname;
  char shp[160];
  size_t ndims;
  uint64_t dims[NN_MAX_RANK];
  if (count_repeated(buf, len, 1, 'v', &ndims) < 0)
    return tensor_malformed(t, tname, err);
  if (ndims > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': rank %zu exceeds the limit of %d", tname,
                   ndims, NN_MAX_RANK);
  if (read_repeated(buf, len, 1, 'v', dims, ndims) < 0)
    return tensor_malformed(t, tname, err);
  int rank = (int)ndims;
  t->rank = rank;
  for (int i = 0; i < rank; i++)
    t->dims[i] = (int64_t)dims[i];
  t->nelem = nn_shape_count(rank, t->dims);
  if (t->nelem == SIZE_MAX)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "tensor '%s': dims %s are negative or too large", tname,
                   nn_shape_str(rank, t->dims, shp, sizeof shp));
  int64_t dtype = tf->dtype;
  size_t esize = nn_dtype_size((int)dtype);
  if (dtype <= 0 || dtype > 16)
    return nn_fail(err, ARGUS_E_CORRUPT, "tensor '%s': invalid data type %lld",
                   tname, (long long)dtype);
  if (esize == 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': element type %s is not supported", tname,
                   nn_dtype_name((int)dtype));
  t->dtype = (int)dtype;
  return ARGUS_OK;
}

/* Checks that the data in the file has exactly the size the shape needs
 * (bytes for raw_data), and finds where typed values are (*tv). Every size
 * is checked against the file before anything is allocated, so a small
 * hostile file cannot ask for gigabytes. */
static argus_err tensor_check_data(const uint8_t *buf, size_t len,
                                   const tensor_fields *tf, nn_tensor *t,
                                   size_t bytes, tensor_values *tv,
                                   nn_err *err) {
  const char *tname = tf->tname;
  char shp[160];
  if (tf->has_raw) {
    if (tf->raw_len != bytes)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "tensor '%s': raw_data holds %zu bytes but %s %s needs "
                     "%zu",
                     tname, tf->raw_len, nn_dtype_name(t->dtype),
                     nn_shape_str(t->rank, t->dims, shp, sizeof shp), bytes);
    return ARGUS_OK;
  }
  switch (t->dtype) {
  case NN_FLOAT:
    tv->field = 4;
    tv->kind = 'f';
    break;
  case NN_INT32:
  case NN_INT16:
  case NN_INT8:
  case NN_UINT16:
  case NN_UINT8:
  case NN_BOOL:
  case NN_FLOAT16:
    tv->field = 5;
    tv->kind = 'v';
    break;
  case NN_INT64:
    tv->field = 7;
    tv->kind = 'v';
    break;
  case NN_DOUBLE:
    tv->field = 10;
    tv->kind = 'd';
    break;
  case NN_UINT32:
  case NN_UINT64:
    tv->field = 11;
    tv->kind = 'v';
    break;
  default:
    return nn_fail(err, ARGUS_E_UNSUPPORTED, "tensor '%s': element type %s",
                   tname, nn_dtype_name(t->dtype));
  }
  if (count_repeated(buf, len, tv->field, tv->kind, &tv->count) < 0)
    return tensor_malformed(t, tname, err);
  if (tv->count != t->nelem)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "tensor '%s': holds %zu values but dims %s need %zu", tname,
                   tv->count, nn_shape_str(t->rank, t->dims, shp, sizeof shp),
                   t->nelem);
  return ARGUS_OK;
}

/* Reads varint values (int32_data and the like) and narrows each to the
 * element size into t->data. */
static argus_err tensor_read_varints(const uint8_t *buf, size_t len,
                                     const tensor_values *tv, const char *tname,
                                     nn_tensor *t, nn_err *err) {
  size_t esize = nn_dtype_size(t->dtype);
  uint64_t *tmp = malloc(tv->count * sizeof *tmp);
  if (!tmp) {
    nn_tensor_clear(t);
    return nn_fail(err, ARGUS_E_NOMEM, "tensor '%s': out of memory", tname);
  }
  if (read_repeated(buf, len, tv->field, tv->kind, tmp, tv->count) < 0) {
    free(tmp);
    return tensor_malformed(t, tname, err);
  }
  for (size_t i = 0; i < tv->count; i++) {
    uint64_t v = tmp[i];
    switch (esize) {
    case 1:
      ((uint8_t *)t->data)[i] = (uint8_t)v;
      break;
    case 2:
      ((uint16_t *)t->data)[i] = (uint16_t)v;
      break;
    case 4:
      ((uint32_t *)t->data)[i] = (uint32_t)v;
      break;
    default:
      ((uint64_t *)t->data)[i] = v;
      break;
    }
  }
  free(tmp);
  return ARGUS_OK;
}

/* Allocates t->data (bytes) and fills it from raw_data or the typed
 * values. */
static argus_err tensor_fill(const uint8_t *buf, size_t len,
                             const tensor_fields *tf, const tensor_values *tv,
                             size_t bytes, nn_tensor *t, nn_err *err) {
  t->data = nn_alloc(bytes);
  if (!t->data)
    return nn_fail(err, ARGUS_E_NOMEM, "tensor '%s': out of memory (%zu bytes)",
                   tf->tname, bytes);
  if (tf->has_raw) {
    if (bytes)
      memcpy(t->data, tf->raw, bytes);
  } else if (tv->kind == 'f' || tv->kind == 'd') {
    if (read_repeated(buf, len, tv->field, tv->kind, t->data, tv->count) < 0)
      return tensor_malformed(t, tf->tname, err);
  } else if (tv->count) {
    return tensor_read_varints(buf, len, tv, tf->tname, t, err);
  }
  return ARGUS_OK;
}

argus_err nn_onnx_parse_tensor(const uint8_t *buf, size_t len, nn_tensor *t,
                               char **name_out, nn_err *err) {
  memset(t, 0, sizeof *t);
  pb_clear_error();
  if (name_out)
    *name_out = NULL;
  tensor_fields tf;
  tensor_values tv = {0, 0, 0};
  argus_err e;
  memset(&tf, 0, sizeof tf);
  snprintf(tf.tname, sizeof tf.tname, "%s", "(unnamed)");
  if (tensor_scan(buf, len, &tf) < 0)
    return tensor_malformed(t, tf.tname, err);
  if (tf.name) {
    size_t l =
        tf.name_len < sizeof tf.tname - 1 ? tf.name_len : sizeof tf.tname - 1;
    memcpy(tf.tname, tf.name, l);
    tf.tname[l] = 0;
  }
  if (tf.external)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': external data is not supported (store the "
                   "weights inside the .onnx file)",
                   tf.tname);
  if (tf.segment)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "tensor '%s': segmented tensors are not supported",
                   tf.tname);
  if ((e = tensor_shape(buf, len, &tf, t, err)))
    return e;
  size_t bytes = t->nelem * nn_dtype_size(t->dtype);
  if ((e = tensor_check_data(buf, len, &tf, t, bytes, &tv, err)) ||
      (e = tensor_fill(buf, len, &tf, &tv, bytes, t, err)))
    return e;
  if (name_out && tf.name) {
    *name_out = nn_onnx_dup_bytes(tf.name, tf.name_len);
    if (!*name_out) {
      nn_tensor_clear(t);
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    }
  }
  return ARGUS_OK;
}

/* ---- AttributeProto ---------------------------------------------------- */

/* What the pass over an AttributeProto finds besides what goes into the
 * nn_attr itself. */
typedef struct attr_fields {
  int64_t type;
  int have_t, have_g;
  const uint8_t *tdata; /* the TensorProto of a tensor attribute */
  size_t tlen;
} attr_fields;

static argus_err attr_malformed(const nn_attr *a, const char *node,
                                nn_err *err) {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT,
                 "node '%s': malformed attribute%s%s (%s)", node,
                 a->name ? " " : "", a->name ? a->name : "",
                 nn_onnx_pb_why(why, sizeof why));
}

static argus_err attr_nomem(nn_err *err) {
  return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
}

/* Reads the fields of the attribute: name, float, int and string into *a,
 * the type and where a tensor is into *af. */
static argus_err attr_scan(const uint8_t *p, size_t len, nn_attr *a,
                           attr_fields *af, const char *node, nn_err *err) {
  pb_reader r = pb_init(p, len);
  pb_field f;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != PB_LEN || nn_onnx_bad_name(f.data, f.len))
        return attr_malformed(a, node, err);
      free(a->name);
      a->name = nn_onnx_dup_bytes(f.data, f.len);
      if (!a->name)
        return attr_nomem(err);
      break;
    case 20:
      if (f.wire != PB_VARINT)
        return attr_malformed(a, node, err);
      af->type = (int64_t)f.u;
      break;
    case 2:
      if (f.wire != PB_I32)
        return attr_malformed(a, node, err);
      {
        uint32_t u = (uint32_t)f.u;
        memcpy(&a->f, &u, 4);
      }
      break;
    case 3:
      if (f.wire != PB_VARINT)
        return attr_malformed(a, node, err);
      a->i = (int64_t)f.u;
      break;
    case 4:
      if (f.wire != PB_LEN || f.len > NN_ONNX_MAX_STRING)
        return attr_malformed(a, node, err);
      free(a->s);
      a->s = nn_onnx_dup_bytes(f.data, f.len);
      if (!a->s)
        return attr_nomem(err);
      a->s_len = f.len;
      break;
    case 5:
      if (f.wire != PB_LEN)
        return attr_malformed(a, node, err);
      af->have_t = 1;
      af->tdata = f.data;
      af->tlen = f.len;
      break;
    case 6:
    case 11:
      af->have_g = 1;
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
    return attr_malformed(a, node, err);
  return ARGUS_OK;
}

/* Parses the TensorProto of a tensor attribute into a new a->t. */
static argus_err attr_tensor(nn_attr *a, const attr_fields *af,
                             const char *node, nn_err *err) {
  if (!af->have_t)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s': tensor attribute '%s' has no tensor", node,
                   a->name);
  a->t = calloc(1, sizeof *a->t);
  if (!a->t)
    return attr_nomem(err);
  nn_err terr;
  argus_err e = nn_onnx_parse_tensor(af->tdata, af->tlen, a->t, NULL, &terr);
  if (e) {
    free(a->t);
    a->t = NULL;
    return nn_fail(err, e, "node '%s': attribute '%s': %s", node, a->name,
                   terr.msg);
  }
  return ARGUS_OK;
}

/* Counts the values of list field num (kind as for read_repeated) into *n,
 * refusing lists of more than 2^20. */
static argus_err attr_list_count(const uint8_t *p, size_t len, uint32_t num,
                                 char kind, const nn_attr *a, const char *node,
                                 size_t *n, nn_err *err) {
  if (count_repeated(p, len, num, kind, n) < 0)
    return attr_malformed(a, node, err);
  if (*n > (1u << 20))
    return nn_fail(err, ARGUS_E_LIMIT, "node '%s': attribute '%s' too long",
                   node, a->name);
  return ARGUS_OK;
}

/* Fills the value of the attribute's type (a->type) that attr_scan did not
 * read: a tensor, a list of ints or floats; refuses sub-graphs and types
 * no op reads. */
static argus_err attr_value(const uint8_t *p, size_t len, nn_attr *a,
                            const attr_fields *af, const char *node,
                            nn_err *err) {
  argus_err e;
  size_t n;
  switch (a->type) {
  case NN_ATTR_FLOAT:
  case NN_ATTR_INT:
    break;
  case NN_ATTR_STRING:
    if (!a->s) {
      a->s = nn_onnx_dup_bytes((const uint8_t *)"", 0);
      if (!a->s)
        return attr_nomem(err);
    }
    break;
  case NN_ATTR_TENSOR:
    return attr_tensor(a, af, node, err);
  case NN_ATTR_INTS:
    if ((e = attr_list_count(p, len, 8, 'v', a, node, &n, err)))
      return e;
    a->ints = malloc((n ? n : 1) * sizeof *a->ints);
    if (!a->ints)
      return attr_nomem(err);
    if (read_repeated(p, len, 8, 'v', a->ints, n) < 0)
      return attr_malformed(a, node, err);
    a->count = n;
    break;
  case NN_ATTR_FLOATS:
    if ((e = attr_list_count(p, len, 7, 'f', a, node, &n, err)))
      return e;
    a->floats = malloc((n ? n : 1) * sizeof *a->floats);
    if (!a->floats)
      return attr_nomem(err);
    if (read_repeated(p, len, 7, 'f', a->floats, n) < 0)
      return attr_malformed(a, node, err);
    a->count = n;
    break;
  case NN_ATTR_STRINGS:
    break; /* kept by name only; no supported op reads string lists */
  case NN_ATTR_GRAPH:
  case 10: /* GRAPHS */
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': attribute '%s' holds a sub-graph (control flow "
                   "is not supported)",
                   node, a->name);
  default:
    if (af->have_g)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "node '%s': attribute '%s' holds a sub-graph", node,
                     a->name);
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': attribute '%s' of type %d is not supported",
                   node, a->name, a->type);
  }
  return ARGUS_OK;
}

argus_err nn_onnx_parse_attr(const uint8_t *p, size_t len, nn_attr *a,
                             const char *node, nn_err *err) {
  attr_fields af = {0, 0, 0, NULL, 0};
  argus_err e;
  memset(a, 0, sizeof *a);
  if ((e = attr_scan(p, len, a, &af, node, err)))
    return e;
  if (!a->name)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s': attribute without a name",
                   node);
  if (af.type < 0 || af.type > 13)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s': attribute '%s' has invalid type %lld", node,
                   a->name, (long long)af.type);
  a->type = (int)af.type;
  return attr_value(p, len, a, &af, node, err);
}
