/* Whether an H.264 access unit is a reference picture, from its NAL unit
 * headers only (no slice parsing). The camera's FAST decode uses it to know
 * which packets a decoder told to skip non-reference frames will turn into
 * frames (docs/video.md, "Cheaper decoding"). */
#include <stddef.h>
#include <stdint.h>

#include "video/video_internal.h"

/* One NAL unit's first byte: forbidden bit, nal_ref_idc (2 bits), type. */
static void note_nal(uint8_t b, int *slices, int *refs) {
  int type = b & 0x1f;
  if (type == 1 || type == 5) { /* coded slice, non-IDR or IDR */
    (*slices)++;
    if ((b >> 5) & 3)
      (*refs)++;
  }
}

int video_h264_packet_ref(const uint8_t *data, size_t size, int nal_len) {
  int slices = 0, refs = 0;
  if (!data)
    return -1;
  if (nal_len >= 1 && nal_len <= 4) {
    /* avcC (MP4, MKV): each NAL unit is preceded by its big-endian length. */
    size_t pos = 0;
    while (pos + (size_t)nal_len <= size) {
      uint64_t n = 0;
      for (int i = 0; i < nal_len; i++)
        n = (n << 8) | data[pos + (size_t)i];
      pos += (size_t)nal_len;
      if (n == 0 || n > size - pos)
        return -1; /* not length-prefixed as the extradata says */
      note_nal(data[pos], &slices, &refs);
      pos += (size_t)n;
    }
    if (pos != size)
      return -1;
  } else if (nal_len == 0) {
    /* Annex B (RTSP, MPEG-TS): NAL units after 00 00 01 start codes. */
    for (size_t i = 0; i + 3 < size; i++) {
      if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
        note_nal(data[i + 3], &slices, &refs);
        i += 3;
      }
    }
  } else {
    return -1;
  }
  if (slices == 0)
    return -1;
  /* FFmpeg skips a NAL unit with nal_ref_idc 0 under AVDISCARD_NONREF;
   * a picture whose slices disagree is not something to predict. */
  if (refs == slices)
    return 1;
  return refs == 0 ? 0 : -1;
}
