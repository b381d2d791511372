/* libFuzzer target: what the SDK does with a reply off the wire — the MDP frames checked, the
   ReplyHeader decoded, and the message unpacked as each reply type a typed call expects.

   The input is split into frames, each a length byte and that many bytes (the last frame takes
   what is left), so that the fuzzer can shape frame boundaries as a broker would. */
#include <stdbool.h>

#include "internal.h"

static const ProtobufCMessageDescriptor *const reply_types[] = {
    &contactpoint__v1__session_grant__descriptor,        &contactpoint__v1__search_children_response__descriptor,
    &contactpoint__v1__child_record__descriptor,         &contactpoint__v1__involvement__descriptor,
    &contactpoint__v1__list_alerts_response__descriptor, &contactpoint__v1__alert__descriptor,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cp_frame frames[8];
    size_t count = 0, at = 0;
    while (at < size && count < sizeof frames / sizeof frames[0]) {
        size_t length = data[at++];
        if (length > size - at) length = size - at;
        frames[count++] = (cp_frame) {data + at, length};
        at += length;
    }
    Contactpoint__V1__ReplyHeader *header = NULL;
    bool final = false;
    cp_status status;
    if (cp_decode_reply(frames, count, &header, &final, &status) != CP_OK) return 0;
    for (size_t i = 0; i < header->n_trailing_metadata; i++) (void) header->trailing_metadata[i]->key[0];
    if (count == 5)
        for (size_t i = 0; i < sizeof reply_types / sizeof reply_types[0]; i++) {
            ProtobufCMessage *message = NULL;
            if (cp_unpack(reply_types[i], frames[4].data, frames[4].length, &message, &status) == CP_OK)
                protobuf_c_message_free_unpacked(message, NULL);
        }
    contactpoint__v1__reply_header__free_unpacked(header, NULL);
    return 0;
}
