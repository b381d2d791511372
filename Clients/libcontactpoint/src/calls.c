/* The typed calls: what an agency's gateway needs, each a thin shell over cp_call. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static const char *const idempotent_methods[] = {
#include "retry-table.h"
    NULL,
};

/* docs/PROTOCOL.md §7: with a key these may be retried and are applied once. */
static const char *const keyed_writes[] = {
    "/contactpoint.v1.Index/PutChildren",
    "/contactpoint.v1.Index/RecordInvolvement",
    "/contactpoint.v1.Index/EndInvolvement",
    "/contactpoint.v1.Index/SetIndicator",
    "/contactpoint.v1.Index/SetLeadProfessional",
    "/contactpoint.v1.Consent/RecordConsent",
    "/contactpoint.v1.Consent/RecordOverride",
    "/contactpoint.v1.Consent/Withdraw",
    NULL,
};

static bool listed(const char *const *list, const char *method) {
    for (; *list; list++)
        if (strcmp(*list, method) == 0) return true;
    return false;
}

bool cp_method_is_idempotent(const char *method) { return listed(idempotent_methods, method); }
bool cp_method_takes_idempotency_key(const char *method) { return listed(keyed_writes, method); }

/* A typed call: the request's and reply's protobuf-c types are the method's. */
#define TYPED_CALL(method, request, reply_descriptor, reply)                                       \
    cp_call(client, method, session, (const ProtobufCMessage *) (request), &(reply_descriptor),      \
            (ProtobufCMessage **) (reply), deadline, status)

static int need_session(const cp_session *session, cp_status *status) {
    return session ? CP_OK
                   : cp_fail(status, CP_UNAUTHENTICATED,
                             "a practitioner's session is needed: sign them in with cp_sign_in");
}

/* --- Signing in ---------------------------------------------------------------------------- */

int cp_sign_in(cp_client *client, const char *email, const char *password, const char *code,
               cp_session **session, Contactpoint__V1__SessionGrant **grant, cp_deadline deadline,
               cp_status *status) {
    *session = NULL;
    if (grant) *grant = NULL;
    Contactpoint__V1__LoginRequest request = CONTACTPOINT__V1__LOGIN_REQUEST__INIT;
    request.email = (char *) (email ? email : "");
    request.password = (char *) (password ? password : "");
    request.totp_code = (char *) (code ? code : "");
    Contactpoint__V1__SessionGrant *answer = NULL;
    int result = cp_call(client, "/contactpoint.v1.Identity/Login", NULL, &request.base,
                         &contactpoint__v1__session_grant__descriptor, (ProtobufCMessage **) &answer,
                         deadline, status);
    if (result != CP_OK) return result;
    *session = cp_session_new(answer->token, answer->expires_at);
    if (!*session) result = cp_fail(status, CP_RESOURCE_EXHAUSTED, "out of memory");
    if (grant && *session) *grant = answer;
    else {
        explicit_bzero(answer->token, strlen(answer->token));
        contactpoint__v1__session_grant__free_unpacked(answer, NULL);
    }
    return result;
}

int cp_session_refresh(cp_client *client, cp_session *session, cp_deadline deadline,
                       cp_status *status) {
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    Contactpoint__V1__RefreshRequest request = CONTACTPOINT__V1__REFRESH_REQUEST__INIT;
    Contactpoint__V1__SessionGrant *answer = NULL;
    int result = TYPED_CALL("/contactpoint.v1.Identity/Refresh", &request,
                            contactpoint__v1__session_grant__descriptor, &answer);
    if (result != CP_OK) return result;
    if (cp_session_replace(session, answer->token, answer->expires_at) != CP_OK)
        result = cp_fail(status, CP_RESOURCE_EXHAUSTED, "out of memory");
    explicit_bzero(answer->token, strlen(answer->token));
    contactpoint__v1__session_grant__free_unpacked(answer, NULL);
    return result;
}

int cp_sign_out(cp_client *client, const cp_session *session, cp_deadline deadline,
                cp_status *status) {
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    Contactpoint__V1__LogoutRequest request = CONTACTPOINT__V1__LOGOUT_REQUEST__INIT;
    Contactpoint__V1__LogoutResponse *answer = NULL;
    int result = TYPED_CALL("/contactpoint.v1.Identity/Logout", &request,
                            contactpoint__v1__logout_response__descriptor, &answer);
    if (answer) contactpoint__v1__logout_response__free_unpacked(answer, NULL);
    return result;
}

/* --- Children and involvements ------------------------------------------------------------- */

int cp_search(cp_client *client, const cp_session *session,
              const Contactpoint__V1__SearchChildrenRequest *request,
              Contactpoint__V1__SearchChildrenResponse **reply, cp_deadline deadline,
              cp_status *status) {
    *reply = NULL;
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    return TYPED_CALL("/contactpoint.v1.Index/SearchChildren", request,
                      contactpoint__v1__search_children_response__descriptor, reply);
}

int cp_view(cp_client *client, const cp_session *session,
            const Contactpoint__V1__ViewRecordRequest *request, Contactpoint__V1__ChildRecord **reply,
            cp_deadline deadline, cp_status *status) {
    *reply = NULL;
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    return TYPED_CALL("/contactpoint.v1.Index/ViewRecord", request,
                      contactpoint__v1__child_record__descriptor, reply);
}

int cp_record_involvement(cp_client *client, const cp_session *session,
                          const Contactpoint__V1__RecordInvolvementRequest *request,
                          Contactpoint__V1__Involvement **reply, cp_deadline deadline,
                          cp_status *status) {
    *reply = NULL;
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    return TYPED_CALL("/contactpoint.v1.Index/RecordInvolvement", request,
                      contactpoint__v1__involvement__descriptor, reply);
}

int cp_end_involvement(cp_client *client, const cp_session *session,
                       const Contactpoint__V1__EndInvolvementRequest *request,
                       Contactpoint__V1__Involvement **reply, cp_deadline deadline,
                       cp_status *status) {
    *reply = NULL;
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    return TYPED_CALL("/contactpoint.v1.Index/EndInvolvement", request,
                      contactpoint__v1__involvement__descriptor, reply);
}

int cp_set_indicator(cp_client *client, const cp_session *session, const char *involvement_id,
                     Contactpoint__V1__IndicatorKind kind, int raised,
                     Contactpoint__V1__Involvement **reply, cp_deadline deadline, cp_status *status) {
    *reply = NULL;
    if (need_session(session, status) != CP_OK) return CP_UNAUTHENTICATED;
    Contactpoint__V1__SetIndicatorRequest request = CONTACTPOINT__V1__SET_INDICATOR_REQUEST__INIT;
    request.involvement_id = (char *) (involvement_id ? involvement_id : "");
    request.kind = kind;
    request.raised = raised != 0;
    return TYPED_CALL("/contactpoint.v1.Index/SetIndicator", &request,
                      contactpoint__v1__involvement__descriptor, reply);
}

/* --- Alerts -------------------------------------------------------------------------------- */

int cp_list_alerts(cp_client *client, const cp_session *session,
                   const Contactpoint__V1__ListAlertsRequest *request,
                   Contactpoint__V1__ListAlertsResponse **reply, cp_deadline deadline,
                   cp_status *status) {
    *reply = NULL;
    return TYPED_CALL("/contactpoint.v1.Notification/ListAlerts", request,
                      contactpoint__v1__list_alerts_response__descriptor, reply);
}

int cp_update_alert(cp_client *client, const cp_session *session, const char *alert_id,
                    Contactpoint__V1__AlertState state, Contactpoint__V1__Alert **reply,
                    cp_deadline deadline, cp_status *status) {
    *reply = NULL;
    Contactpoint__V1__UpdateAlertRequest request = CONTACTPOINT__V1__UPDATE_ALERT_REQUEST__INIT;
    request.alert_id = (char *) (alert_id ? alert_id : "");
    request.state = state;
    return TYPED_CALL("/contactpoint.v1.Notification/UpdateAlert", &request,
                      contactpoint__v1__alert__descriptor, reply);
}

/* How long one subscription lasts before the follower renews it. The service holds a worker
   session per subscription until its deadline, so an abandoned one is not held long. */
enum { SUBSCRIPTION_MS = 120000 };

struct cp_alert_follower {
    cp_client *client;
    const cp_session *session;
    int organisation;
    uint64_t cursor;
    cp_pending *subscription;
};

cp_alert_follower *cp_follow_alerts(cp_client *client, const cp_session *session, uint64_t after,
                                    int organisation) {
    cp_alert_follower *follower = calloc(1, sizeof *follower);
    if (!follower) return NULL;
    follower->client = client;
    follower->session = session;
    follower->organisation = organisation;
    follower->cursor = after;
    return follower;
}

static bool subscribe(cp_alert_follower *follower) {
    Contactpoint__V1__SubscribeRequest request = CONTACTPOINT__V1__SUBSCRIBE_REQUEST__INIT;
    request.after = follower->cursor;
    request.organisation = follower->organisation != 0;
    follower->subscription = cp_start_stream(follower->client, "/contactpoint.v1.Notification/Subscribe",
                                             follower->session, &request.base,
                                             cp_deadline_in(SUBSCRIPTION_MS));
    return follower->subscription != NULL;
}

int cp_alert_follower_next(cp_alert_follower *follower, Contactpoint__V1__Alert **alert,
                           cp_deadline deadline, cp_status *status) {
    *alert = NULL;
    for (;;) {
        if (!follower->subscription && !subscribe(follower))
            return cp_fail(status, CP_RESOURCE_EXHAUSTED, "out of memory");
        uint8_t *message;
        size_t length;
        bool ended;
        int code = cp_stream_next(follower->client, follower->subscription, &message, &length, &ended,
                                  deadline, status);
        if (code == CP_OK && message) {
            code = cp_unpack(&contactpoint__v1__alert__descriptor, message, length,
                             (ProtobufCMessage **) alert, status);
            free(message);
            if (code == CP_OK) {
                follower->cursor = (*alert)->sequence;
                return cp_succeed(status);
            }
            return code;
        }
        if (!ended) return code; /* the caller's deadline, with the subscription still open */
        cp_stream_abandon(follower->client, follower->subscription);
        follower->subscription = NULL;
        /* A subscription that ran its time, or went with its broker, is renewed from the cursor;
           anything else (a refused session, say) ends the following. */
        if (code != CP_OK && code != CP_DEADLINE_EXCEEDED && code != CP_UNAVAILABLE) return code;
        if (cp_now() >= deadline) return cp_fail(status, CP_DEADLINE_EXCEEDED, "nothing arrived in time");
        if (code == CP_UNAVAILABLE) {
            /* Give a broker that went a moment, rather than spinning through the others. */
            int64_t pause = cp_now() + 100000;
            while (cp_now() < pause && cp_now() < deadline) {
                struct timespec tick = {0, 10000000};
                nanosleep(&tick, NULL);
            }
        }
    }
}

uint64_t cp_alert_follower_cursor(const cp_alert_follower *follower) { return follower->cursor; }

void cp_alert_follower_free(cp_alert_follower *follower) {
    if (!follower) return;
    cp_stream_abandon(follower->client, follower->subscription);
    free(follower);
}
