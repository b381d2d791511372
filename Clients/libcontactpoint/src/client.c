/* The client: a DEALER socket per broker, calls routed by call id, failover and retries
   (docs/PROTOCOL.md §§2–7, §12). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <zmq.h>

#include "contactpoint/v1/bus.pb-c.h"
#include "internal.h"

/* How long a broker connection may be silent before it is dropped (ZMTP heartbeats, §8). */
enum { HEARTBEAT_INTERVAL_MS = 1000, HEARTBEAT_TIMEOUT_MS = 3000 };
/* Backoff before a retry: doubling from the first, jittered, at most the last. */
enum { BACKOFF_FIRST_MS = 50, BACKOFF_MAX_MS = 1000 };
/* Why a call ends when no broker lets this system in. */
#define REFUSED_KEY                                                                                     \
    "every broker refused this system's key: is it registered as a gateway and in force "              \
    "(contactpoint admin gateways list), or on the brokers' allow-list?"
/* The most body frames a reply carries (header and one message). */
enum { MAX_REPLY_FRAMES = 5 };

struct cp_broker {
    char *endpoint;
    cp_z85_key server_key;
    void *socket;
    void *monitor;
    bool up;      /* the CURVE handshake succeeded and the connection has not dropped since */
    bool refused; /* the broker's ZAP handler refused this system's key */
};

struct cp_client {
    void *context;
    cp_z85_key public_key, secret_key;
    struct cp_broker *brokers;
    size_t broker_count;
    size_t next_broker;
    uint64_t next_call_id;
    cp_pending *calls; /* every call started and not yet finished */
};

struct cp_session {
    char *token;
    int64_t expires_at;
};

struct received {
    uint8_t *data;
    size_t length;
    struct received *next;
};

/* One logical call: the request kept for retries, and its current attempt. */
struct cp_pending {
    cp_pending *next;
    char *method;
    char *service;
    char *authorization; /* "Bearer TOKEN", or NULL */
    char idempotency_key[33];
    bool retryable;
    bool stream;
    uint8_t *request;
    size_t request_length;
    const ProtobufCMessageDescriptor *reply_type;
    cp_deadline deadline;
    uint32_t attempt;
    /* The attempt in flight: its call id and the broker it went through (SIZE_MAX: not sent). */
    uint64_t call_id;
    size_t broker;
    struct received *head, *tail;
    bool ended;
    int code;
    char message[sizeof(((cp_status *) 0)->message)];
};

/* --- Status -------------------------------------------------------------------------------- */

const char *cp_code_name(int code) {
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    return code >= 0 && code < (int) (sizeof names / sizeof names[0]) ? names[code] : "UNKNOWN_CODE";
}

int cp_fail(cp_status *status, int code, const char *format, ...) {
    if (status) {
        status->code = code;
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(status->message, sizeof status->message, format, arguments);
        va_end(arguments);
    }
    return code;
}

int cp_succeed(cp_status *status) {
    if (status) {
        status->code = CP_OK;
        status->message[0] = '\0';
    }
    return CP_OK;
}

int64_t cp_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

cp_deadline cp_deadline_in(int64_t milliseconds) { return cp_now() + milliseconds * 1000; }

/* --- Sessions ------------------------------------------------------------------------------ */

cp_session *cp_session_new(const char *token, int64_t expires_at) {
    cp_session *session = calloc(1, sizeof *session);
    if (!session) return NULL;
    session->token = strdup(token ? token : "");
    if (!session->token) {
        free(session);
        return NULL;
    }
    session->expires_at = expires_at;
    return session;
}

cp_session *cp_session_from_token(const char *token) { return cp_session_new(token, 0); }

const char *cp_session_token(const cp_session *session) { return session->token; }
int64_t cp_session_expires_at(const cp_session *session) { return session->expires_at; }

void cp_session_free(cp_session *session) {
    if (!session) return;
    /* The token is a credential: leave no copy in freed memory. */
    explicit_bzero(session->token, strlen(session->token));
    free(session->token);
    free(session);
}

/* Replaces the session's token (after a refresh). */
int cp_session_replace(cp_session *session, const char *token, int64_t expires_at) {
    char *copy = strdup(token);
    if (!copy) return CP_RESOURCE_EXHAUSTED;
    explicit_bzero(session->token, strlen(session->token));
    free(session->token);
    session->token = copy;
    session->expires_at = expires_at;
    return CP_OK;
}

/* --- The client ---------------------------------------------------------------------------- */

static int open_broker(cp_client *client, size_t index, cp_status *status) {
    struct cp_broker *broker = &client->brokers[index];
    int one = 1, zero = 0, interval = HEARTBEAT_INTERVAL_MS, timeout = HEARTBEAT_TIMEOUT_MS;
    broker->socket = zmq_socket(client->context, ZMQ_DEALER);
    if (!broker->socket) return cp_fail(status, CP_INTERNAL, "zmq_socket: %s", zmq_strerror(errno));
    char monitor_endpoint[64];
    snprintf(monitor_endpoint, sizeof monitor_endpoint, "inproc://contactpoint-monitor-%zu", index);
    if (zmq_setsockopt(broker->socket, ZMQ_CURVE_SERVERKEY, broker->server_key, 40) != 0
        || zmq_setsockopt(broker->socket, ZMQ_CURVE_PUBLICKEY, client->public_key, 40) != 0
        || zmq_setsockopt(broker->socket, ZMQ_CURVE_SECRETKEY, client->secret_key, 40) != 0
        || zmq_setsockopt(broker->socket, ZMQ_IMMEDIATE, &one, sizeof one) != 0
        || zmq_setsockopt(broker->socket, ZMQ_LINGER, &zero, sizeof zero) != 0
        || zmq_setsockopt(broker->socket, ZMQ_HEARTBEAT_IVL, &interval, sizeof interval) != 0
        || zmq_setsockopt(broker->socket, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout) != 0
        || zmq_socket_monitor(broker->socket, monitor_endpoint,
                              ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED
                                  | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                  | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
               != 0)
        return cp_fail(status, CP_INVALID_ARGUMENT, "broker %s: %s (is its key a 40-character Z85 key?)",
                       broker->endpoint, zmq_strerror(errno));
    broker->monitor = zmq_socket(client->context, ZMQ_PAIR);
    if (!broker->monitor || zmq_setsockopt(broker->monitor, ZMQ_LINGER, &zero, sizeof zero) != 0
        || zmq_connect(broker->monitor, monitor_endpoint) != 0)
        return cp_fail(status, CP_INTERNAL, "monitor: %s", zmq_strerror(errno));
    if (zmq_connect(broker->socket, broker->endpoint) != 0)
        return cp_fail(status, CP_INVALID_ARGUMENT, "broker endpoint \"%s\": %s", broker->endpoint,
                       zmq_strerror(errno));
    return CP_OK;
}

cp_client *cp_client_new(const cp_client_options *options, cp_status *status) {
    if (!options || options->broker_count == 0 || !options->broker_endpoints
        || !options->broker_public_key_files || !options->key_file) {
        cp_fail(status, CP_INVALID_ARGUMENT,
                "give at least one broker (endpoint and public key file) and this system's key file");
        return NULL;
    }
    cp_client *client = calloc(1, sizeof *client);
    if (!client) goto out_of_memory;
    client->brokers = calloc(options->broker_count, sizeof *client->brokers);
    if (!client->brokers) goto out_of_memory;
    client->broker_count = options->broker_count;
    /* Call ids need only be unique among this client's calls; a random start keeps two runs of
       a program from reusing each other's while a late reply may still arrive. */
    if (getrandom(&client->next_call_id, sizeof client->next_call_id, 0) != sizeof client->next_call_id)
        client->next_call_id = (uint64_t) cp_now();
    client->next_call_id >>= 1;
    if (cp_read_key_field(options->key_file, "public-key", client->public_key, status) != CP_OK
        || cp_read_key_field(options->key_file, "secret-key", client->secret_key, status) != CP_OK)
        goto failed;
    for (size_t i = 0; i < options->broker_count; i++) {
        if (!options->broker_endpoints[i] || !options->broker_public_key_files[i]) {
            cp_fail(status, CP_INVALID_ARGUMENT, "broker %zu: no endpoint or no public key file", i + 1);
            goto failed;
        }
        client->brokers[i].endpoint = strdup(options->broker_endpoints[i]);
        if (!client->brokers[i].endpoint) goto out_of_memory;
        if (cp_read_key_field(options->broker_public_key_files[i], "public-key",
                              client->brokers[i].server_key, status)
            != CP_OK)
            goto failed;
    }
    client->context = zmq_ctx_new();
    if (!client->context) {
        cp_fail(status, CP_INTERNAL, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto failed;
    }
    for (size_t i = 0; i < client->broker_count; i++)
        if (open_broker(client, i, status) != CP_OK) goto failed;
    cp_succeed(status);
    return client;
out_of_memory:
    cp_fail(status, CP_RESOURCE_EXHAUSTED, "out of memory");
failed:
    cp_client_free(client);
    return NULL;
}

static void free_received(cp_pending *call) {
    for (struct received *r = call->head, *next; r; r = next) {
        next = r->next;
        free(r->data);
        free(r);
    }
    call->head = call->tail = NULL;
}

static void free_pending(cp_pending *call) {
    free_received(call);
    free(call->method);
    free(call->service);
    if (call->authorization) explicit_bzero(call->authorization, strlen(call->authorization));
    free(call->authorization);
    free(call->request);
    free(call);
}

static void forget(cp_client *client, cp_pending *call) {
    for (cp_pending **link = &client->calls; *link; link = &(*link)->next)
        if (*link == call) {
            *link = call->next;
            break;
        }
    free_pending(call);
}

void cp_client_free(cp_client *client) {
    if (!client) return;
    while (client->calls) forget(client, client->calls);
    for (size_t i = 0; i < client->broker_count; i++) {
        struct cp_broker *broker = &client->brokers[i];
        if (broker->socket) {
            zmq_socket_monitor(broker->socket, NULL, 0);
            zmq_close(broker->socket);
        }
        if (broker->monitor) zmq_close(broker->monitor);
        free(broker->endpoint);
    }
    free(client->brokers);
    if (client->context) zmq_ctx_term(client->context);
    explicit_bzero(client->secret_key, sizeof client->secret_key);
    free(client);
}

/* --- Sending ------------------------------------------------------------------------------- */

static void end_call(cp_pending *call, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static void end_call(cp_pending *call, int code, const char *format, ...) {
    if (call->ended) return;
    call->ended = true;
    call->code = code;
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(call->message, sizeof call->message, format, arguments);
    va_end(arguments);
}

static int send_frame(void *socket, const void *data, size_t length, bool more) {
    return zmq_send(socket, data, length, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0 ? -1 : 0;
}

/* Sends the call's next attempt through the first broker (from the client's rotation) that
   takes it. Returns false when no broker connection is up yet: the caller waits and tries
   again. Ends the call when its deadline has passed or the header cannot be made. */
static bool send_attempt(cp_client *client, cp_pending *call) {
    int64_t left = call->deadline - cp_now();
    if (left <= 0) {
        end_call(call, CP_DEADLINE_EXCEEDED,
                 call->attempt == 0 ? "the deadline had passed: the call was not sent"
                                    : "the deadline passed before the call could be sent again");
        return true;
    }
    Contactpoint__V1__MetadataEntry entries[2], *pointers[2];
    size_t metadata = 0;
    if (call->authorization) {
        contactpoint__v1__metadata_entry__init(&entries[metadata]);
        entries[metadata].key = "authorization";
        entries[metadata].value_case = CONTACTPOINT__V1__METADATA_ENTRY__VALUE_TEXT;
        entries[metadata].text = call->authorization;
        pointers[metadata] = &entries[metadata];
        metadata++;
    }
    if (call->idempotency_key[0]) {
        contactpoint__v1__metadata_entry__init(&entries[metadata]);
        entries[metadata].key = "idempotency-key";
        entries[metadata].value_case = CONTACTPOINT__V1__METADATA_ENTRY__VALUE_TEXT;
        entries[metadata].text = call->idempotency_key;
        pointers[metadata] = &entries[metadata];
        metadata++;
    }
    Contactpoint__V1__RequestHeader header = CONTACTPOINT__V1__REQUEST_HEADER__INIT;
    header.call_id = client->next_call_id + 1;
    header.method = call->method;
    header.timeout_micros = (uint64_t) left;
    header.attempt = call->attempt + 1;
    header.n_metadata = metadata;
    header.metadata = pointers;
    size_t header_length = contactpoint__v1__request_header__get_packed_size(&header);
    uint8_t *packed = malloc(header_length ? header_length : 1);
    if (!packed) {
        end_call(call, CP_RESOURCE_EXHAUSTED, "out of memory");
        return true;
    }
    contactpoint__v1__request_header__pack(&header, packed);
    bool sent = false;
    for (size_t tried = 0; tried < client->broker_count && !sent; tried++) {
        size_t index = (client->next_broker + tried) % client->broker_count;
        struct cp_broker *broker = &client->brokers[index];
        if (!broker->up) continue;
        /* With ZMQ_IMMEDIATE the first frame fails with EAGAIN when the connection is not up;
           once it is queued, the rest of the message goes with it. */
        if (send_frame(broker->socket, "MDPC02", 6, true) != 0) continue;
        static const uint8_t request_command = 0x01;
        send_frame(broker->socket, &request_command, 1, true);
        send_frame(broker->socket, call->service, strlen(call->service), true);
        send_frame(broker->socket, packed, header_length, true);
        send_frame(broker->socket, call->request, call->request_length, false);
        client->next_broker = (index + 1) % client->broker_count;
        client->next_call_id++;
        call->call_id = header.call_id;
        call->broker = index;
        call->attempt++;
        sent = true;
    }
    free(packed);
    return sent;
}

static bool every_broker_refused(const cp_client *client) {
    for (size_t i = 0; i < client->broker_count; i++)
        if (!client->brokers[i].refused) return false;
    return true;
}

/* --- Receiving ----------------------------------------------------------------------------- */

static cp_pending *call_with_id(cp_client *client, uint64_t call_id) {
    for (cp_pending *call = client->calls; call; call = call->next)
        if (call->broker != SIZE_MAX && call->call_id == call_id) return call;
    return NULL;
}

int cp_decode_reply(const cp_frame *frames, size_t count, Contactpoint__V1__ReplyHeader **header,
                    bool *final, cp_status *status) {
    *header = NULL;
    if (count < 4 || count > MAX_REPLY_FRAMES)
        return cp_fail(status, CP_INTERNAL, "a reply of %zu frames (MDP: 4 or 5)", count);
    if (frames[0].length != 6 || memcmp(frames[0].data, "MDPC02", 6) != 0)
        return cp_fail(status, CP_INTERNAL, "a reply that is not MDPC02");
    if (frames[1].length != 1 || (frames[1].data[0] != 0x02 && frames[1].data[0] != 0x03))
        return cp_fail(status, CP_INTERNAL, "a reply that is neither PARTIAL nor FINAL");
    *final = frames[1].data[0] == 0x03;
    *header = contactpoint__v1__reply_header__unpack(NULL, frames[3].length, frames[3].data);
    if (!*header) return cp_fail(status, CP_INTERNAL, "a reply header that does not decode");
    return CP_OK;
}

/* Reads one whole message from `socket` and hands it to the call it answers. */
static void receive_reply(cp_client *client, void *socket) {
    zmq_msg_t parts[MAX_REPLY_FRAMES], extra;
    cp_frame frames[MAX_REPLY_FRAMES];
    size_t count = 0;
    bool more = true, too_many = false;
    while (more) {
        /* Frames past the most a reply has are read (to reach the next message) and dropped. */
        zmq_msg_t *part = count < MAX_REPLY_FRAMES ? &parts[count] : &extra;
        zmq_msg_init(part);
        if (zmq_msg_recv(part, socket, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(part);
            break;
        }
        more = zmq_msg_more(part);
        if (part == &extra) {
            too_many = true;
            zmq_msg_close(&extra);
            continue;
        }
        frames[count].data = zmq_msg_data(part);
        frames[count].length = zmq_msg_size(part);
        count++;
    }
    Contactpoint__V1__ReplyHeader *header = NULL;
    bool final = false;
    cp_pending *call;
    if (too_many || count == 0 || cp_decode_reply(frames, count, &header, &final, NULL) != CP_OK
        || !(call = call_with_id(client, header->call_id)) || call->ended)
        goto done; /* junk, or a late reply to a call abandoned or ended at its deadline */
    if (count == 5) {
        struct received *message = calloc(1, sizeof *message);
        if (message) message->data = malloc(frames[4].length ? frames[4].length : 1);
        if (!message || !message->data) {
            free(message);
            end_call(call, CP_RESOURCE_EXHAUSTED, "out of memory for a reply");
            goto done;
        }
        memcpy(message->data, frames[4].data, frames[4].length);
        message->length = frames[4].length;
        if (call->tail) call->tail->next = message;
        else call->head = message;
        call->tail = message;
    }
    if (final)
        end_call(call, header->status_code, "%s",
                 header->status_message && header->status_message[0] ? header->status_message : "");
done:
    if (header) contactpoint__v1__reply_header__free_unpacked(header, NULL);
    for (size_t i = 0; i < count; i++) zmq_msg_close(&parts[i]);
}

/* Reads the broker's connection events: a dropped connection fails the calls sent through it
   (they may or may not have run), so that they can be retried through another broker. */
static void receive_event(cp_client *client, size_t index) {
    struct cp_broker *broker = &client->brokers[index];
    zmq_msg_t event, address;
    zmq_msg_init(&event);
    zmq_msg_init(&address);
    if (zmq_msg_recv(&event, broker->monitor, ZMQ_DONTWAIT) < 0) goto done;
    if (zmq_msg_more(&event)) zmq_msg_recv(&address, broker->monitor, 0);
    if (zmq_msg_size(&event) < 6) goto done;
    uint16_t kind;
    memcpy(&kind, zmq_msg_data(&event), sizeof kind);
    if (kind == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        broker->up = true;
        broker->refused = false;
    } else if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        broker->up = false;
        broker->refused = kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    } else if (kind == ZMQ_EVENT_DISCONNECTED) {
        broker->up = false;
        for (cp_pending *call = client->calls; call; call = call->next)
            if (call->broker == index && !call->ended)
                end_call(call, CP_UNAVAILABLE,
                         "the connection to broker %s dropped (the call may or may not have run)",
                         broker->endpoint);
    }
done:
    zmq_msg_close(&event);
    zmq_msg_close(&address);
}

/* Ends the calls whose deadline has passed: the client need not wait for the service to say so. */
static void expire_calls(cp_client *client) {
    int64_t now = cp_now();
    for (cp_pending *call = client->calls; call; call = call->next)
        if (!call->ended && now >= call->deadline)
            end_call(call, CP_DEADLINE_EXCEEDED, "%s",
                     call->broker == SIZE_MAX
                         ? "no broker connection came up within the deadline: check the brokers' endpoints and "
                           "public keys"
                         : "no reply within the deadline");
}

/* Waits until something arrives or `until` (never past it), and handles what did. */
static void pump(cp_client *client, int64_t until) {
    enum { MAX_POLLED = 64 };
    zmq_pollitem_t items[MAX_POLLED];
    size_t count = 0;
    for (size_t i = 0; i < client->broker_count && count + 2 <= MAX_POLLED; i++) {
        items[count++] = (zmq_pollitem_t) {.socket = client->brokers[i].socket, .events = ZMQ_POLLIN};
        items[count++] = (zmq_pollitem_t) {.socket = client->brokers[i].monitor, .events = ZMQ_POLLIN};
    }
    int64_t wait = until - cp_now();
    long timeout = wait <= 0 ? 0 : (long) ((wait + 999) / 1000);
    if (zmq_poll(items, (int) count, timeout) > 0) {
        for (size_t i = 0; i < count; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            size_t broker = i / 2;
            if (i % 2 == 0) {
                for (int n = 0; n < 256; n++) {
                    int events = 0;
                    size_t size = sizeof events;
                    zmq_getsockopt(client->brokers[broker].socket, ZMQ_EVENTS, &events, &size);
                    if (!(events & ZMQ_POLLIN)) break;
                    receive_reply(client, client->brokers[broker].socket);
                }
            } else {
                receive_event(client, broker);
            }
        }
    }
    expire_calls(client);
}

/* --- Calls --------------------------------------------------------------------------------- */

static char *service_of(const char *method) {
    /* "/pkg.Service/Method" → "pkg.Service" */
    if (!method || method[0] != '/') return NULL;
    const char *slash = strchr(method + 1, '/');
    if (!slash || slash == method + 1 || !slash[1]) return NULL;
    return strndup(method + 1, (size_t) (slash - method - 1));
}

static void new_idempotency_key(char key[33]) {
    uint8_t random[16];
    if (getrandom(random, sizeof random, 0) != sizeof random) {
        /* getrandom does not fail for 16 bytes once the pool is ready; keep the key unique anyway */
        uint64_t now = (uint64_t) cp_now();
        memcpy(random, &now, sizeof now);
        memcpy(random + 8, &key, sizeof(void *));
    }
    for (size_t i = 0; i < sizeof random; i++) snprintf(key + 2 * i, 3, "%02x", random[i]);
}

static cp_pending *begin(cp_client *client, const char *method, const cp_session *session,
                         const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
                         cp_deadline deadline, bool stream) {
    cp_pending *call = calloc(1, sizeof *call);
    if (!call) return NULL;
    call->broker = SIZE_MAX;
    call->deadline = deadline;
    call->reply_type = reply_type;
    call->stream = stream;
    call->next = client->calls;
    client->calls = call;
    call->service = service_of(method);
    if (!call->service) {
        end_call(call, CP_INVALID_ARGUMENT, "method \"%s\": give it as /package.Service/Method",
                 method ? method : "(null)");
        return call;
    }
    call->method = strdup(method);
    if (session) {
        size_t length = strlen("Bearer ") + strlen(session->token) + 1;
        call->authorization = malloc(length);
        if (call->authorization) snprintf(call->authorization, length, "Bearer %s", session->token);
    }
    call->request_length = request ? protobuf_c_message_get_packed_size(request) : 0;
    call->request = malloc(call->request_length ? call->request_length : 1);
    if (!call->method || (session && !call->authorization) || !call->request) {
        end_call(call, CP_RESOURCE_EXHAUSTED, "out of memory");
        return call;
    }
    if (request) protobuf_c_message_pack(request, call->request);
    if (cp_method_takes_idempotency_key(method)) {
        new_idempotency_key(call->idempotency_key);
        call->retryable = true;
    } else {
        call->retryable = cp_method_is_idempotent(method);
    }
    if (!send_attempt(client, call) && every_broker_refused(client)) end_call(call, CP_UNAUTHENTICATED, "%s", REFUSED_KEY);
    return call;
}

cp_pending *cp_start(cp_client *client, const char *method, const cp_session *session,
                     const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
                     cp_deadline deadline) {
    return begin(client, method, session, request, reply_type, deadline, false);
}

cp_pending *cp_start_stream(cp_client *client, const char *method, const cp_session *session,
                            const ProtobufCMessage *request, cp_deadline deadline) {
    return begin(client, method, session, request, NULL, deadline, true);
}

/* Drives a call until it has ended for good: sent once a broker is up, retried after
   UNAVAILABLE if it may be, failed at its deadline. */
static void drive(cp_client *client, cp_pending *call, int64_t wait_until) {
    int64_t backoff = BACKOFF_FIRST_MS * 1000;
    for (;;) {
        int64_t now = cp_now();
        if (call->ended) {
            bool retry = call->code == CP_UNAVAILABLE && call->retryable && !call->stream
                         && call->attempt > 0 && now < call->deadline;
            if (!retry) return;
            /* Full jitter (gRFC A6): anything up to the backoff, then the next broker. */
            uint32_t random = 0;
            getrandom(&random, sizeof random, 0);
            int64_t pause = (int64_t) (random % (uint64_t) backoff) + 1000;
            int64_t until = now + pause < call->deadline ? now + pause : call->deadline;
            while (cp_now() < until) pump(client, until);
            backoff = backoff * 2 > BACKOFF_MAX_MS * 1000 ? BACKOFF_MAX_MS * 1000 : backoff * 2;
            free_received(call);
            call->ended = false;
            call->broker = SIZE_MAX;
            if (!send_attempt(client, call) && every_broker_refused(client))
                end_call(call, CP_UNAUTHENTICATED, "%s", REFUSED_KEY);
            continue;
        }
        if (call->broker == SIZE_MAX && !send_attempt(client, call)) {
            if (every_broker_refused(client)) {
                end_call(call, CP_UNAUTHENTICATED, "%s", REFUSED_KEY);
                continue;
            }
            if (now >= wait_until) return; /* a stream's reader waits no longer; the call waits on */
            /* No connection up yet: wait for a connection event, a little at a time. */
            int64_t until = now + 20000;
            if (until > call->deadline) until = call->deadline;
            if (until > wait_until) until = wait_until;
            pump(client, until);
            continue;
        }
        if (call->stream && call->head) return;
        if (now >= wait_until) return;
        pump(client, wait_until < call->deadline ? wait_until : call->deadline);
    }
}

int cp_unpack(const ProtobufCMessageDescriptor *type, const uint8_t *data, size_t length,
              ProtobufCMessage **message, cp_status *status) {
    *message = protobuf_c_message_unpack(type, NULL, length, data);
    if (!*message) return cp_fail(status, CP_INTERNAL, "the reply does not decode as %s", type->name);
    return CP_OK;
}

int cp_finish(cp_client *client, cp_pending *call, ProtobufCMessage **reply, cp_status *status) {
    if (reply) *reply = NULL;
    if (!call) return cp_fail(status, CP_RESOURCE_EXHAUSTED, "out of memory: the call was not started");
    drive(client, call, INT64_MAX);
    int code;
    if (call->code != CP_OK) {
        code = cp_fail(status, call->code, "%s: %s", call->method ? call->method : "call", call->message);
    } else if (!call->head) {
        code = cp_fail(status, CP_INTERNAL, "%s: the reply carried no message", call->method);
    } else if (reply && call->reply_type) {
        code = cp_unpack(call->reply_type, call->head->data, call->head->length, reply, status);
        if (code == CP_OK) cp_succeed(status);
    } else {
        code = cp_succeed(status);
    }
    forget(client, call);
    return code;
}

int cp_call(cp_client *client, const char *method, const cp_session *session,
            const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
            ProtobufCMessage **reply, cp_deadline deadline, cp_status *status) {
    return cp_finish(client, cp_start(client, method, session, request, reply_type, deadline), reply,
                     status);
}

int cp_stream_next(cp_client *client, cp_pending *stream, uint8_t **message, size_t *length,
                   bool *ended, cp_deadline wait_until, cp_status *status) {
    *message = NULL;
    *length = 0;
    *ended = false;
    drive(client, stream, wait_until);
    if (stream->head) {
        struct received *first = stream->head;
        stream->head = first->next;
        if (!stream->head) stream->tail = NULL;
        *message = first->data;
        *length = first->length;
        free(first);
        return cp_succeed(status);
    }
    if (stream->ended) {
        *ended = true;
        if (stream->code == CP_OK) return cp_succeed(status);
        return cp_fail(status, stream->code, "%s: %s", stream->method ? stream->method : "call", stream->message);
    }
    if (stream->broker == SIZE_MAX)
        return cp_fail(status, CP_UNAVAILABLE,
                       "no broker connection is up (yet): check the brokers' endpoints and public keys");
    return cp_fail(status, CP_DEADLINE_EXCEEDED, "nothing arrived in time");
}

void cp_stream_abandon(cp_client *client, cp_pending *stream) {
    if (stream) forget(client, stream);
}
