/* What the library's files share; nothing here is part of the API. */
#ifndef CONTACTPOINT_INTERNAL_H
#define CONTACTPOINT_INTERNAL_H

#include <stdbool.h>

#include "contactpoint.h"
#include "contactpoint/v1/bus.pb-c.h"

/* A Z85-encoded CURVE key: 40 characters and a NUL. */
typedef char cp_z85_key[41];

/* Reads `field` ("public-key" or "secret-key") from a key file of `name = value` lines. */
int cp_read_key_field(const char *path, const char *field, cp_z85_key key, cp_status *status);

/* Fills `status` (if not NULL) and returns `code`. */
int cp_fail(cp_status *status, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int cp_succeed(cp_status *status);

int64_t cp_now(void);

/* A session of a token just granted, and when it expires (Unix seconds). */
cp_session *cp_session_new(const char *token, int64_t expires_at);
/* Gives the session a renewed token. */
int cp_session_replace(cp_session *session, const char *token, int64_t expires_at);

/* The methods that may be sent again after UNAVAILABLE as they are (NO_SIDE_EFFECTS or
   IDEMPOTENT in Proto/), and the writes that take an idempotency key (docs/PROTOCOL.md §7). */
bool cp_method_is_idempotent(const char *method);
bool cp_method_takes_idempotency_key(const char *method);

/* A server-streaming call, read message by message (the alert follower's subscription). */
cp_pending *cp_start_stream(cp_client *client, const char *method, const cp_session *session,
                            const ProtobufCMessage *request, cp_deadline deadline);
/* The next message of a stream: CP_OK with `*message` set (malloc'ed bytes, `*length`), or the
   code the stream ended with (CP_OK ends with `*message` NULL), or CP_DEADLINE_EXCEEDED with
   `ended` false when `wait_until` passed first. */
int cp_stream_next(cp_client *client, cp_pending *stream, uint8_t **message, size_t *length,
                   bool *ended, cp_deadline wait_until, cp_status *status);
void cp_stream_abandon(cp_client *client, cp_pending *stream);

/* Unpacks a reply; CP_INTERNAL if it does not decode as `type`. */
int cp_unpack(const ProtobufCMessageDescriptor *type, const uint8_t *data, size_t length,
              ProtobufCMessage **message, cp_status *status);

/* Checks an MDP client reply (the frames a DEALER receives) and decodes its header: CP_OK with
   `*header` (to free) and whether it is FINAL, or CP_INTERNAL for frames that are not one. Used
   for every reply the client reads, and by the fuzz target. */
typedef struct cp_frame {
    const uint8_t *data;
    size_t length;
} cp_frame;
int cp_decode_reply(const cp_frame *frames, size_t count, Contactpoint__V1__ReplyHeader **header,
                    bool *final, cp_status *status);

#endif
