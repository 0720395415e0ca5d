/* JSON output of the gallery's records (search candidates, enrolment
 * photos) and of import results, with the core writer (argus_json). */
#include <string.h>

#include "argus/import.h"
#include "gallery_internal.h"

void argus_gallery_candidate_json(const argus_gallery_candidate *c,
                                  argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "person_id", c->person_id);
  argus_json_str(j, "name", c->person);
  if (c->external_id[0])
    argus_json_str(j, "external_id", c->external_id);
  else
    argus_json_null(j, "external_id");
  argus_json_str(j, "watchlist", c->watchlist);
  argus_json_num(j, "score", c->score, 4);
  if (c->normalised)
    argus_json_num(j, "raw_score", c->raw_score, 4);
  argus_json_num(j, "threshold", c->threshold, 4);
  argus_json_bool(j, "match", c->match);
  argus_json_int(j, "photo_id", c->photo_id);
  argus_json_obj_end(j);
}

/* The members of a rejected photo after "file", and the object's end. */
static void rejection(argus_json *j, argus_gallery_reject reason,
                      unsigned reasons, const char *detail, int nfaces) {
  argus_json_bool(j, "accepted", 0);
  argus_json_str(j, "reason", argus_gallery_reject_name(reason));
  argus_json_arr_begin(j, "reasons");
  for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
    if (reasons & (1u << r))
      argus_json_str(j, NULL,
                     argus_gallery_reject_name((argus_gallery_reject)r));
  argus_json_arr_end(j);
  argus_json_str(j, "detail", detail);
  argus_json_int(j, "faces", nfaces);
  argus_json_obj_end(j);
}

void argus_gallery_photo_json(const argus_gallery_photo *p, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", p->source ? p->source : "");
  if (p->reason == ARGUS_GALLERY_ACCEPTED) {
    argus_json_bool(j, "accepted", 1);
    argus_json_num(j, "quality", p->quality, 3);
    argus_json_int(j, "faces", p->nfaces);
    if (p->detail[0])
      argus_json_str(j, "note", p->detail);
    argus_json_obj_end(j);
    return;
  }
  rejection(j, p->reason, p->reasons, p->detail, p->nfaces);
}

void argus_gallery_reindex_report_json_members(
    const argus_gallery_reindex_report *r, argus_json *j) {
  argus_json_int(j, "to_do", r->total);
  argus_json_int(j, "processed", r->done);
  argus_json_int(j, "embedded", r->embedded);
  argus_json_int(j, "failed", r->failed);
  argus_json_bool(j, "interrupted", r->stopped);
  if (r->first_failure[0])
    argus_json_str(j, "first_failure", r->first_failure);
  else
    argus_json_null(j, "first_failure");
}

void argus_import_rejected_photo_json(const argus_import_rejected_photo *p,
                                      argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", p->path ? p->path : "");
  rejection(j, p->reason, p->reasons, p->detail, p->nfaces);
}

void argus_import_person_json(const argus_import_person *p, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "folder", p->folder ? p->folder : "");
  argus_json_str(j, "name", p->name ? p->name : "");
  argus_json_str(j, "status", argus_import_status_name(p->status));
  if (p->person_id > 0)
    argus_json_int(j, "person_id", p->person_id);
  else
    argus_json_null(j, "person_id");
  argus_json_int(j, "photos", p->photos);
  argus_json_int(j, "photos_used", p->photos_used);
  argus_json_int(j, "photos_enrolled", p->photos_enrolled);
  argus_json_int(j, "photos_rejected", p->photos_rejected);
  argus_json_arr_begin(j, "rejected");
  for (int i = 0; i < p->photos_rejected; i++)
    argus_import_rejected_photo_json(&p->rejected[i], j);
  argus_json_arr_end(j);
  if (p->status == ARGUS_IMPORT_FAILED) {
    argus_json_str(j, "error", argus_errname(p->error));
    argus_json_str(j, "message", p->message);
  }
  argus_json_obj_end(j);
}

void argus_import_summary_json(const argus_import_summary *s, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "watchlist", s->watchlist);
  argus_json_int(j, "persons", s->persons_total);
  argus_json_int(j, "persons_enrolled", s->persons_enrolled);
  argus_json_int(j, "persons_skipped", s->persons_skipped);
  argus_json_int(j, "persons_rejected", s->persons_rejected);
  argus_json_int(j, "persons_failed", s->persons_failed);
  argus_json_int(j, "photos_enrolled", s->photos_enrolled);
  argus_json_int(j, "photos_rejected", s->photos_rejected);
  argus_json_obj_begin(j, "rejected_by_reason");
  for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
    if (s->rejected_by_reason[r])
      argus_json_int(j, argus_gallery_reject_name((argus_gallery_reject)r),
                     s->rejected_by_reason[r]);
  argus_json_obj_end(j);
  argus_json_bool(j, "interrupted", s->cancelled);
  argus_json_num(j, "seconds", s->seconds, 3);
  argus_json_arr_begin(j, "rejected");
  for (int64_t i = 0; s->persons && i < s->persons_total; i++)
    for (int k = 0; k < s->persons[i].photos_rejected; k++)
      argus_import_rejected_photo_json(&s->persons[i].rejected[k], j);
  argus_json_arr_end(j);
  argus_json_arr_begin(j, "failed");
  for (int64_t i = 0; s->persons && i < s->persons_total; i++) {
    const argus_import_person *p = &s->persons[i];
    if (p->status != ARGUS_IMPORT_FAILED)
      continue;
    argus_json_obj_begin(j, NULL);
    argus_json_str(j, "person", p->folder ? p->folder : "");
    argus_json_str(j, "error", p->message);
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}
