#!/bin/sh
# Seeds the fuzzers' corpora (git-ignored) from small ONNX files:
#   fuzz/corpus-onnx/    model.onnx of ONNX node tests that use the ops the
#                        engine implements, plus the default models under
#                        models/ (skip them with --no-real: at 1-5 MB each they
#                        slow the fuzzer down)
#   fuzz/corpus-tensor/  the input/output TensorProtos of those tests
#   fuzz/corpus-video/   (below) and fuzz/corpus-card/ (the shipped model cards)
# usage: fuzz/make-corpus.sh [--no-real]
# env: ARGUS_ONNX_TESTDATA (default /usr/share/libonnx-testdata/data)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
data=${ARGUS_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
real=1
[ "${1:-}" = "--no-real" ] && real=0

onnx="$here/corpus-onnx"
tensor="$here/corpus-tensor"
mkdir -p "$onnx" "$tensor"

cases="test_relu test_add test_add_bcast test_sub_bcast test_mul_bcast
test_div_bcast test_exp test_sigmoid test_identity test_clip
test_clip_default_min test_prelu_broadcast test_softmax_axis_1
test_concat_2d_axis_0 test_concat_3d_axis_negative_1 test_flatten_axis1
test_gather_0 test_gather_negative_indices test_gemm_default_matrix_bias
test_gemm_transposeA test_matmul_2d test_matmul_4d test_maxpool_2d_pads
test_maxpool_2d_strides test_globalaveragepool test_conv_with_strides_padding
test_conv_with_autopad_same test_basic_conv_with_padding test_batchnorm_example
test_batchnorm_epsilon test_reshape_reordered_all_dims test_reshape_negative_dim
test_shape test_slice test_slice_negative_axes test_squeeze test_unsqueeze_axis_0
test_transpose_default test_transpose_all_permutations_1 test_constant
test_quantizelinear test_quantizelinear_axis test_dequantizelinear
test_dequantizelinear_axis test_qlinearconv test_qlinearmatmul_2D
test_qlinearmatmul_3D"

n=0
for c in $cases; do
  d="$data/node/$c"
  [ -f "$d/model.onnx" ] || continue
  cp "$d/model.onnx" "$onnx/$c.onnx"
  for pb in "$d"/test_data_set_0/*.pb; do
    [ -f "$pb" ] || continue
    size=$(wc -c < "$pb")
    [ "$size" -le 65536 ] && cp "$pb" "$tensor/$c-$(basename "$pb")"
  done
  n=$((n + 1))
done
echo "corpus-onnx: $n node-test models from $data/node"

if [ "$real" = 1 ]; then
  for f in "$root"/models/*.onnx; do
    [ -f "$f" ] || continue
    cp "$f" "$onnx/"
    echo "corpus-onnx: $(basename "$f")"
  done
fi
echo "corpus-tensor: $(ls "$tensor" | wc -l) TensorProtos"

# fuzz/corpus-video/: the first 48 KiB of a sample video whose index comes
# first (so that the prefix still plays), behind fuzz_video_file's selector
# byte (bits 0-1: delivered format, bit 2: a 5 fps cap). Read in place from
# ../shared/data (ARGUS_SHARED_DATA); nothing when it is absent.
shared=${ARGUS_SHARED_DATA:-$root/../shared/data}
clip="$shared/video/office_one_by_one_139s.mp4"
if [ -f "$clip" ]; then
  video="$here/corpus-video"
  mkdir -p "$video"
  for sel in 000 001 006; do
    { printf "\\$sel"; head -c 49152 "$clip"; } > "$video/office-$sel.mp4"
  done
  echo "corpus-video: $(ls "$video" | wc -l) clips"
fi

# fuzz/corpus-card/: the shipped model cards.
card="$here/corpus-card"
mkdir -p "$card"
cp "$root"/share/models/*.card.json "$card/"
echo "corpus-card: $(ls "$card" | wc -l) cards"

# fuzz/corpus-multipart/ and fuzz/corpus-request/: request bodies of the
# operator service (fuzz_api_multipart, fuzz_api_request). A multipart seed
# starts with fuzz_api_multipart's mode byte: 0x0f = "Content-Type line,
# then the body, up to 15 parts" (see the harness).
jpg_b64='/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAhC6FpKyKoN1L8kC8de7Y9B/gO9FFFPdsFJx2/I//Z'
png_b64='iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAAXNSR0IArs4c6QAAABZJREFUCJljZOASkZOTYxIREREREQEABkwA9E3Xt6gAAAAASUVORK5CYII='
mp="$here/corpus-multipart"
rq="$here/corpus-request"
mkdir -p "$mp" "$rq"
ct='multipart/form-data; boundary=------------------------d74496d66958873e'
bd='--------------------------d74496d66958873e'
{ printf '\017%s\n' "$ct"
  printf '%s\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda Lovelace\r\n' "$bd"
  printf '%s\r\nContent-Disposition: form-data; name="photo"; filename="ada.png"\r\nContent-Type: image/png\r\n\r\n' "$bd"
  printf '%s' "$png_b64" | base64 -d
  printf '\r\n%s--\r\n' "$bd"; } > "$mp/person-photo"
{ printf '\017multipart/form-data; boundary="----WebKitFormBoundary7MA4YWxkTrZu0gW"\n'
  printf 'preamble\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n'
  printf 'Content-Disposition: form-data; name="photo"; filename="C:\\Users\\me\\a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
  printf '%s' "$jpg_b64" | base64 -d
  printf '\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name="empty"\r\n\r\n'
  printf '\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\nepilogue\r\n'; } > "$mp/browser-jpeg"
printf '\017multipart/form-data; boundary=XyZ\n--XyZ\nContent-Disposition: form-data; name=a\n\n--XyZZ data\r\n-- XyZ\n--XyZ--' > "$mp/bare-lf"
printf '\017multipart/form-data; boundary=XyZ\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nno end\r\n' > "$mp/no-close"
printf '\016\002abc--ABC\r\nContent-Disposition: form-data; name=x; filename="../a"\r\nContent-Transfer-Encoding: binary\r\n\r\n1\r\n--ABC--' > "$mp/mapped-boundary"
echo "corpus-multipart: $(ls "$mp" | wc -l) bodies"

printf '{"name":"Entrance","url":"rtsp://cam/1","enabled":true,"settings":{"fps":5}}' > "$rq/camera"
printf '{"name":"VIP","threshold":0.62,"acknowledge":false,"notes":null,"tags":["a","b"]}' > "$rq/watchlist"
printf '{"decision":"confirmed","comment":"caf\303\251 door"}' > "$rq/decision"
printf '{"name":"a","name":"b","limit":1e19}' > "$rq/twice"
printf '{"name":"x\\u0000y","limit":[[[[[[[[[[]]]]]]]]]]}' > "$rq/nul-escape"
printf '{"a":1,}' > "$rq/trailing-comma"
printf '9223372036854775807' > "$rq/id-max"
printf '2024-05-01T12:34:56.789+02:00' > "$rq/time"
printf '../etc/passwd' > "$rq/name-path"
printf '%s' "$jpg_b64" | base64 -d > "$rq/tiny.jpg"
printf '%s' "$png_b64" | base64 -d > "$rq/tiny.png"
echo "corpus-request: $(ls "$rq" | wc -l) values"
