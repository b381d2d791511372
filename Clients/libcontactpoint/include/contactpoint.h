/*
 * libcontactpoint: the C SDK for agency systems that call ContactPoint over its bus
 * (docs/GATEWAYS.md is the guide, docs/PROTOCOL.md the wire).
 *
 * Conventions of every function below:
 *
 * - Results are gRPC status codes (enum cp_code): CP_OK is 0. When a function is given a
 *   cp_status, it fills it in with the code and a message a person can read.
 * - Every call that reaches the bus takes a deadline (cp_deadline_in). A call whose deadline
 *   has passed is not sent, and ends CP_DEADLINE_EXCEEDED; the services never run it.
 * - Messages are protobuf-c messages of the types in <contactpoint/v1/...pb-c.h>. Requests stay
 *   the caller's. A reply written to `*reply` on CP_OK is the caller's to free with
 *   protobuf_c_message_free_unpacked((ProtobufCMessage *) reply, NULL); on any other code
 *   `*reply` is set to NULL.
 * - A cp_client holds ZeroMQ sockets: use it from one thread at a time (one client per thread,
 *   or a lock of your own). Different clients share nothing; the library has no global state.
 * - Retries: a call is sent again (through the next broker, after a short backoff, within its
 *   deadline) only when it ended CP_UNAVAILABLE and the method may be retried: marked
 *   NO_SIDE_EFFECTS or IDEMPOTENT in Proto/, or one of the keyed writes, which the library sends
 *   with an idempotency key of its own, the same on every attempt (docs/PROTOCOL.md §7).
 */
#ifndef CONTACTPOINT_H
#define CONTACTPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <contactpoint/v1/identity.pb-c.h>
#include <contactpoint/v1/index.pb-c.h>
#include <contactpoint/v1/notification.pb-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* google.rpc.Code, as the services answer them. */
enum cp_code {
    CP_OK = 0,
    CP_CANCELLED = 1,
    CP_UNKNOWN = 2,
    CP_INVALID_ARGUMENT = 3,
    CP_DEADLINE_EXCEEDED = 4,
    CP_NOT_FOUND = 5,
    CP_ALREADY_EXISTS = 6,
    CP_PERMISSION_DENIED = 7,
    CP_RESOURCE_EXHAUSTED = 8,
    CP_FAILED_PRECONDITION = 9,
    CP_ABORTED = 10,
    CP_OUT_OF_RANGE = 11,
    CP_UNIMPLEMENTED = 12,
    CP_INTERNAL = 13,
    CP_UNAVAILABLE = 14,
    CP_DATA_LOSS = 15,
    CP_UNAUTHENTICATED = 16,
};

/* How a call ended. Owned by the caller (usually on its stack); any function may be given NULL. */
typedef struct cp_status {
    int code;
    char message[512];
} cp_status;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN_CODE" for a number outside the list. Static storage. */
const char *cp_code_name(int code);

/* A point in time on the monotonic clock, in microseconds. */
typedef int64_t cp_deadline;

/* Now plus `milliseconds` (0 or less: a deadline that has already passed). */
cp_deadline cp_deadline_in(int64_t milliseconds);

typedef struct cp_client cp_client;

/* Where the brokers are and who this system is. Strings are copied by cp_client_new. */
typedef struct cp_client_options {
    /* Every broker's request endpoint ("tcp://broker-1:5555") and public key file (NAME.pub, as
       `contactpoint keys generate` writes it), `broker_count` of each. */
    const char *const *broker_endpoints;
    const char *const *broker_public_key_files;
    size_t broker_count;
    /* This system's own key file (NAME.key: its public and secret key). */
    const char *key_file;
} cp_client_options;

/* Connects to every broker (in the background: calls wait, within their deadline, for the first
   connection). NULL on failure, with `status` saying why (a key file that cannot be read,
   CP_INVALID_ARGUMENT). Free with cp_client_free. */
cp_client *cp_client_new(const cp_client_options *options, cp_status *status);

/* Closes the sockets; calls in flight are abandoned. NULL is allowed. */
void cp_client_free(cp_client *client);

/* A practitioner's session: the token the identity service granted at sign-in. Opaque; owned
   by the caller; free with cp_session_free (cp_sign_out ends it at the identity service first). */
typedef struct cp_session cp_session;

/* A session from a token saved earlier (e.g. by the command line). NULL if out of memory. */
cp_session *cp_session_from_token(const char *token);
/* The token, to keep between runs of a program. Owned by the session. */
const char *cp_session_token(const cp_session *session);
/* When the session expires if not refreshed, in Unix seconds (0 if not known). */
int64_t cp_session_expires_at(const cp_session *session);
void cp_session_free(cp_session *session);

/* --- Generic calls: any unary method in Proto/ --------------------------------------------- */

/* Calls `method` ("/contactpoint.v1.Index/SearchChildren") with `request`, as the practitioner
   of `session` (NULL: as this system's own bus principal, for the methods that allow it). On
   CP_OK `*reply` is a message of `reply_type`. */
int cp_call(cp_client *client, const char *method, const cp_session *session,
            const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
            ProtobufCMessage **reply, cp_deadline deadline, cp_status *status);

/* --- Started calls: many in flight from one thread ----------------------------------------- */

typedef struct cp_pending cp_pending;

/* Sends a unary call and returns at once. NULL only when out of memory; a call that could not
   be sent is still returned and ends with its code in cp_finish. Every started call must be
   finished. */
cp_pending *cp_start(cp_client *client, const char *method, const cp_session *session,
                     const ProtobufCMessage *request, const ProtobufCMessageDescriptor *reply_type,
                     cp_deadline deadline);

/* Waits for a started call to end (retrying it as cp_call would) and frees it. While it waits,
   replies to the client's other calls are kept for them. */
int cp_finish(cp_client *client, cp_pending *call, ProtobufCMessage **reply, cp_status *status);

/* --- Signing in ---------------------------------------------------------------------------- */

/* Signs a practitioner in with their own password and current authenticator code. The SDK
   relays them and keeps neither. On CP_OK, `*session` is theirs; `*grant` (if not NULL) is the
   identity service's whole answer (previous sign-in, failed attempts since), to be freed. */
int cp_sign_in(cp_client *client, const char *email, const char *password, const char *code,
               cp_session **session, Contactpoint__V1__SessionGrant **grant, cp_deadline deadline,
               cp_status *status);

/* Renews the session's idle time (the token changes; the session keeps it). */
int cp_session_refresh(cp_client *client, cp_session *session, cp_deadline deadline,
                       cp_status *status);

/* Ends the session at the identity service. The session object stays the caller's to free. */
int cp_sign_out(cp_client *client, const cp_session *session, cp_deadline deadline,
                cp_status *status);

/* --- Children and involvements (a session is required) -------------------------------------- */

int cp_search(cp_client *client, const cp_session *session,
              const Contactpoint__V1__SearchChildrenRequest *request,
              Contactpoint__V1__SearchChildrenResponse **reply, cp_deadline deadline,
              cp_status *status);

int cp_view(cp_client *client, const cp_session *session,
            const Contactpoint__V1__ViewRecordRequest *request, Contactpoint__V1__ChildRecord **reply,
            cp_deadline deadline, cp_status *status);

int cp_record_involvement(cp_client *client, const cp_session *session,
                          const Contactpoint__V1__RecordInvolvementRequest *request,
                          Contactpoint__V1__Involvement **reply, cp_deadline deadline,
                          cp_status *status);

int cp_end_involvement(cp_client *client, const cp_session *session,
                       const Contactpoint__V1__EndInvolvementRequest *request,
                       Contactpoint__V1__Involvement **reply, cp_deadline deadline,
                       cp_status *status);

/* Raises (`raised` true) or clears an indicator. */
int cp_set_indicator(cp_client *client, const cp_session *session, const char *involvement_id,
                     Contactpoint__V1__IndicatorKind kind, int raised,
                     Contactpoint__V1__Involvement **reply, cp_deadline deadline, cp_status *status);

/* --- Alerts (a session: the practitioner's; NULL: the gateway's own organisation) ------------ */

int cp_list_alerts(cp_client *client, const cp_session *session,
                   const Contactpoint__V1__ListAlertsRequest *request,
                   Contactpoint__V1__ListAlertsResponse **reply, cp_deadline deadline,
                   cp_status *status);

/* Moves an alert on: READ, ACKNOWLEDGED or CONTACT_MADE. */
int cp_update_alert(cp_client *client, const cp_session *session, const char *alert_id,
                    Contactpoint__V1__AlertState state, Contactpoint__V1__Alert **reply,
                    cp_deadline deadline, cp_status *status);

/* Following alerts: every alert after a cursor, then each new one as it is stored. The follower
   resubscribes by itself when its subscription ends or a broker goes, from the last alert it
   returned, so nothing is missed or repeated. */
typedef struct cp_alert_follower cp_alert_follower;

/* `after`: the cursor to start from (0: from the first alert; else an alert's `sequence`, as
   cp_alert_follower_cursor returned before). `organisation`: a practitioner's organisation inbox
   instead of their own. The session (NULL allowed, as above) must outlive the follower. NULL
   only when out of memory. */
cp_alert_follower *cp_follow_alerts(cp_client *client, const cp_session *session, uint64_t after,
                                    int organisation);

/* The next alert, waiting until `deadline` for one: CP_OK with `*alert` set (the caller's to
   free); CP_DEADLINE_EXCEEDED when none came in time; CP_UNAVAILABLE when no broker connection
   was up to subscribe through (a wrong endpoint or broker key, or every broker down) — for both,
   follow on with another call. Any other code (a session refused, a gateway revoked,
   CP_PERMISSION_DENIED, ...) ends the following. */
int cp_alert_follower_next(cp_alert_follower *follower, Contactpoint__V1__Alert **alert,
                           cp_deadline deadline, cp_status *status);

/* The sequence of the last alert returned (the `after` it started from before any): keep it to
   resume after a restart. Cursors are opaque: they count nothing and come in no numeric order,
   so keep the last one given, never the largest. */
uint64_t cp_alert_follower_cursor(const cp_alert_follower *follower);

/* Stops following (the subscription ends at the service at its own deadline). NULL allowed. */
void cp_alert_follower_free(cp_alert_follower *follower);

#ifdef __cplusplus
}
#endif

#endif /* CONTACTPOINT_H */
