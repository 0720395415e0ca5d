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
test_transpose_default test_transpose_all_permutations_1 test_constant"

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
