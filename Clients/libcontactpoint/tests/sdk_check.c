/* The SDK against a real stack: started by the Swift test suite (Tests/EndToEndTests/
   CSDKEndToEndTests.swift), which enrols the practitioner, loads children and, between the
   steps below, acts from the Swift command line and kills a broker. The two sides meet through
   lines on standard output ("step: ...") and marker files in the sync folder.

   Usage: sdk-check CONFIG   (a file of `name = value` lines; see read_config)
   Ends with "N passed, M failed"; exits 1 if anything failed. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contactpoint.h"
#include "internal.h"

static int passed, failed;

static int64_t now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void check(int condition, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    printf(condition ? "ok: " : "FAILED: ");
    vprintf(format, arguments);
    printf("\n");
    fflush(stdout);
    va_end(arguments);
    if (condition) passed++;
    else failed++;
}

/* --- Configuration ------------------------------------------------------------------------- */

enum { MAX_BROKERS = 4 };

static struct {
    const char *brokers[MAX_BROKERS], *broker_keys[MAX_BROKERS];
    size_t broker_count;
    const char *key_file, *email, *password, *totp_secret_hex, *sync_dir;
    /* A practitioner of another organisation, and a session granted elsewhere (the command line's). */
    const char *other_email, *other_password, *other_totp_secret_hex, *foreign_token;
    const char *given, *family, *born;
} config;

static void read_config(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) {
        fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[1024];
    while (fgets(line, sizeof line, file)) {
        line[strcspn(line, "\n")] = '\0';
        char *equals = strstr(line, " = ");
        if (line[0] == '#' || !equals) continue;
        *equals = '\0';
        char *value = strdup(equals + 3);
        if (strcmp(line, "broker") == 0 && config.broker_count < MAX_BROKERS) {
            /* "ENDPOINT PUBLIC-KEY-FILE" */
            char *space = strchr(value, ' ');
            if (!space) continue;
            *space = '\0';
            config.brokers[config.broker_count] = value;
            config.broker_keys[config.broker_count++] = space + 1;
        } else if (strcmp(line, "key-file") == 0) config.key_file = value;
        else if (strcmp(line, "email") == 0) config.email = value;
        else if (strcmp(line, "password") == 0) config.password = value;
        else if (strcmp(line, "totp-secret-hex") == 0) config.totp_secret_hex = value;
        else if (strcmp(line, "sync-dir") == 0) config.sync_dir = value;
        else if (strcmp(line, "other-email") == 0) config.other_email = value;
        else if (strcmp(line, "other-password") == 0) config.other_password = value;
        else if (strcmp(line, "other-totp-secret-hex") == 0) config.other_totp_secret_hex = value;
        else if (strcmp(line, "foreign-token") == 0) config.foreign_token = value;
        else if (strcmp(line, "child-given") == 0) config.given = value;
        else if (strcmp(line, "child-family") == 0) config.family = value;
        else if (strcmp(line, "child-born") == 0) config.born = value;
        else free(value);
    }
    fclose(file);
    if (!config.broker_count || !config.key_file || !config.email || !config.password
        || !config.totp_secret_hex || !config.sync_dir || !config.given || !config.family || !config.born
        || !config.other_email || !config.other_password || !config.other_totp_secret_hex || !config.foreign_token) {
        fprintf(stderr, "%s: incomplete configuration\n", path);
        exit(2);
    }
}

/* The RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) for the time step `step`. */
static void totp_code(const char *secret_hex, int64_t step, char code[7]) {
    uint8_t secret[64], message[8];
    size_t length = strlen(secret_hex) / 2;
    if (length > sizeof secret) length = sizeof secret;
    for (size_t i = 0; i < length; i++) sscanf(secret_hex + 2 * i, "%2hhx", &secret[i]);
    for (int i = 0; i < 8; i++) message[i] = (uint8_t) ((uint64_t) step >> (56 - 8 * i));
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int mac_length = 0;
    HMAC(EVP_sha1(), secret, (int) length, message, sizeof message, mac, &mac_length);
    int offset = mac[mac_length - 1] & 0x0f;
    uint32_t binary = ((uint32_t) (mac[offset] & 0x7f) << 24) | ((uint32_t) mac[offset + 1] << 16)
                      | ((uint32_t) mac[offset + 2] << 8) | mac[offset + 3];
    snprintf(code, 7, "%06u", binary % 1000000);
}

/* Waits for the Swift side to create `name` in the sync folder. */
static int wait_for_marker(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", config.sync_dir, name);
    for (int i = 0; i < 1200; i++) {
        if (access(path, F_OK) == 0) return 1;
        struct timespec tick = {0, 50000000};
        nanosleep(&tick, NULL);
    }
    return 0;
}

static cp_client *new_client(void) {
    cp_client_options options = {
        .broker_endpoints = config.brokers,
        .broker_public_key_files = config.broker_keys,
        .broker_count = config.broker_count,
        .key_file = config.key_file,
    };
    cp_status status;
    cp_client *client = cp_client_new(&options, &status);
    if (!client) {
        fprintf(stderr, "cp_client_new: %s\n", status.message);
        exit(2);
    }
    return client;
}

/* The reason every read below gives. */
static Contactpoint__V1__AccessReason contact_practitioners = {
    PROTOBUF_C_MESSAGE_INIT(&contactpoint__v1__access_reason__descriptor),
    CONTACTPOINT__V1__REASON_CODE__REASON_CODE_CONTACT_PRACTITIONERS, (char *) "",
};

#define FREE(message) protobuf_c_message_free_unpacked((ProtobufCMessage *) (message), NULL)

/* --- The steps ----------------------------------------------------------------------------- */

static void bad_input(void) {
    cp_status status;
    cp_client_options none = {0};
    check(cp_client_new(&none, &status) == NULL && status.code == CP_INVALID_ARGUMENT,
          "a client without brokers is refused: %s", status.message);
    const char *endpoint = config.brokers[0], *missing = "/nonexistent/broker.pub";
    cp_client_options unreadable = {&endpoint, &missing, 1, config.key_file};
    check(cp_client_new(&unreadable, &status) == NULL && strstr(status.message, "/nonexistent/broker.pub"),
          "an unreadable key file is named: %s", status.message);
    check(strcmp(cp_code_name(CP_UNAUTHENTICATED), "UNAUTHENTICATED") == 0 && strcmp(cp_code_name(99), "UNKNOWN_CODE") == 0,
          "status codes have their gRPC names");
    /* The retry table generated from Proto/: reads marked idempotent, keyed writes, nothing else */
    check(cp_method_is_idempotent("/contactpoint.v1.Index/SearchChildren")
              && cp_method_is_idempotent("/contactpoint.v1.Notification/ListAlerts")
              && !cp_method_is_idempotent("/contactpoint.v1.Notification/UpdateAlert")
              && !cp_method_is_idempotent("/contactpoint.v1.Identity/Login")
              && cp_method_takes_idempotency_key("/contactpoint.v1.Index/RecordInvolvement")
              && !cp_method_takes_idempotency_key("/contactpoint.v1.Index/SearchChildren"),
          "only idempotent reads and keyed writes are retried");

    /* A broker named with the wrong public key: no connection comes up, and every wait keeps its deadline */
    const char *wrong_key = config.key_file;
    cp_client_options mistaken = {&endpoint, &wrong_key, 1, config.key_file};
    cp_client *client = cp_client_new(&mistaken, &status);
    int64_t started = now_ms();
    Contactpoint__V1__WhoAmIRequest who = CONTACTPOINT__V1__WHO_AM_IREQUEST__INIT;
    ProtobufCMessage *reply = NULL;
    int result = cp_call(client, "/contactpoint.v1.Identity/WhoAmI", NULL, &who.base,
                         &contactpoint__v1__practitioner_summary__descriptor, &reply, cp_deadline_in(1000), &status);
    check(result == CP_DEADLINE_EXCEEDED && strstr(status.message, "public keys") && now_ms() - started < 3000,
          "with a broker's key wrong, a call ends at its deadline and says what to check: %s", status.message);
    cp_alert_follower *follower = cp_follow_alerts(client, NULL, 0, 1);
    Contactpoint__V1__Alert *alert = NULL;
    started = now_ms();
    result = cp_alert_follower_next(follower, &alert, cp_deadline_in(1000), &status);
    check(result == CP_UNAVAILABLE && !alert && strstr(status.message, "public keys") && now_ms() - started < 3000,
          "and the follower returns at the reader's deadline (%lld ms), saying no connection is up: %s",
          (long long) (now_ms() - started), status.message);
    cp_alert_follower_free(follower);
    cp_client_free(client);
}

static cp_session *sign_in(cp_client *client) {
    cp_status status;
    cp_session *session = NULL;
    int64_t step = time(NULL) / 30;
    char code[7], wrong[12];
    totp_code(config.totp_secret_hex, step, code);
    snprintf(wrong, sizeof wrong, "%06d", (atoi(code) + 500000) % 1000000);
    int result = cp_sign_in(client, config.email, config.password, wrong, &session, NULL, cp_deadline_in(10000), &status);
    check(result == CP_UNAUTHENTICATED && session == NULL, "a wrong code is refused: %s %s", cp_code_name(result),
          status.message);
    Contactpoint__V1__SessionGrant *grant = NULL;
    result = cp_sign_in(client, config.email, config.password, code, &session, &grant, cp_deadline_in(10000), &status);
    check(result == CP_OK && session && grant && strlen(cp_session_token(session)) > 20
              && cp_session_expires_at(session) > time(NULL),
          "signed in with password and code: %s", status.message);
    if (grant) {
        check(grant->failed_attempts_since >= 1, "the grant counts the failed attempt (%u)", grant->failed_attempts_since);
        FREE(grant);
    }
    if (!session) {
        printf("cannot go on without a session\n");
        exit(1);
    }
    return session;
}

static char *find_child(cp_client *client, cp_session *session) {
    cp_status status;
    Contactpoint__V1__SearchChildrenRequest search = CONTACTPOINT__V1__SEARCH_CHILDREN_REQUEST__INIT;
    search.given_name = (char *) config.given;
    search.family_name = (char *) config.family;
    search.date_of_birth = (char *) config.born;
    Contactpoint__V1__SearchChildrenResponse *found = NULL;
    int result = cp_search(client, session, &search, &found, cp_deadline_in(10000), &status);
    check(result == CP_INVALID_ARGUMENT && found == NULL && strstr(status.message, "reason"),
          "a search without a reason is refused: %s %s", cp_code_name(result), status.message);
    search.reason = &contact_practitioners;
    result = cp_search(client, session, &search, &found, cp_deadline_in(10000), &status);
    check(result == CP_OK && found && found->n_matches >= 1
              && strcmp(found->matches[0]->family_name, config.family) == 0,
          "a search with a reason finds %s %s: %s", config.given, config.family, status.message);
    char *child = result == CP_OK && found->n_matches ? strdup(found->matches[0]->child_id) : NULL;
    if (found) FREE(found);
    check(cp_search(client, NULL, &search, &found, cp_deadline_in(10000), &status) == CP_UNAUTHENTICATED,
          "a search without a session is not sent: %s", status.message);
    if (!child) exit(1);
    return child;
}

static int count_involvements_named(cp_client *client, cp_session *session, const char *child, const char *contact) {
    cp_status status;
    Contactpoint__V1__ViewRecordRequest view = CONTACTPOINT__V1__VIEW_RECORD_REQUEST__INIT;
    view.child_id = (char *) child;
    view.reason = &contact_practitioners;
    Contactpoint__V1__ChildRecord *record = NULL;
    if (cp_view(client, session, &view, &record, cp_deadline_in(10000), &status) != CP_OK) {
        check(0, "view %s: %s", child, status.message);
        return -1;
    }
    int count = 0;
    for (size_t i = 0; i < record->n_involvements; i++)
        if (record->involvements[i]->contact && strcmp(record->involvements[i]->contact->name, contact) == 0)
            count++;
    FREE(record);
    return count;
}

static char *record_involvement(cp_client *client, cp_session *session, const char *child) {
    cp_status status;
    Contactpoint__V1__PractitionerContact contact = CONTACTPOINT__V1__PRACTITIONER_CONTACT__INIT;
    contact.name = "Dr C Gateway";
    contact.role = "GP";
    contact.telephone = "020 7946 0456";
    Contactpoint__V1__InvolvementDetails details = CONTACTPOINT__V1__INVOLVEMENT_DETAILS__INIT;
    details.service_type = CONTACTPOINT__V1__SERVICE_TYPE__SERVICE_TYPE_GP_PRACTICE;
    details.organisation_name = "Riverside Surgery";
    details.contact = &contact;
    Contactpoint__V1__RecordInvolvementRequest request = CONTACTPOINT__V1__RECORD_INVOLVEMENT_REQUEST__INIT;
    request.child_id = (char *) child;
    request.involvement = &details;
    Contactpoint__V1__Involvement *recorded = NULL;

    int result = cp_record_involvement(client, session, &request, &recorded, cp_deadline_in(0), &status);
    check(result == CP_DEADLINE_EXCEEDED && !recorded, "a write whose deadline has passed is not sent: %s", status.message);
    check(count_involvements_named(client, session, child, "Dr C Gateway") == 0,
          "and the record shows it was never made");

    result = cp_record_involvement(client, session, &request, &recorded, cp_deadline_in(10000), &status);
    check(result == CP_OK && recorded && strncmp(recorded->involvement_id, "inv-", 4) == 0,
          "an involvement is recorded: %s", status.message);
    char *id = recorded ? strdup(recorded->involvement_id) : NULL;
    if (recorded) FREE(recorded);
    check(count_involvements_named(client, session, child, "Dr C Gateway") == 1, "the view shows it once");
    if (!id) exit(1);

    result = cp_set_indicator(client, session, id, CONTACTPOINT__V1__INDICATOR_KIND__INDICATOR_KIND_TAKING_ACTION, 1,
                              &recorded, cp_deadline_in(10000), &status);
    check(result == CP_OK && recorded && recorded->n_indicators == 1, "an indicator is raised: %s", status.message);
    if (recorded) FREE(recorded);
    result = cp_set_indicator(client, session, id, CONTACTPOINT__V1__INDICATOR_KIND__INDICATOR_KIND_TAKING_ACTION, 0,
                              &recorded, cp_deadline_in(10000), &status);
    check(result == CP_OK && recorded && recorded->n_indicators == 0, "and cleared: %s", status.message);
    if (recorded) FREE(recorded);
    return id;
}

static void generic_and_pipelined(cp_client *client, cp_session *session) {
    cp_status status;
    Contactpoint__V1__WhoAmIRequest who = CONTACTPOINT__V1__WHO_AM_IREQUEST__INIT;
    Contactpoint__V1__PractitionerSummary *me = NULL;
    int result = cp_call(client, "/contactpoint.v1.Identity/WhoAmI", session, &who.base,
                         &contactpoint__v1__practitioner_summary__descriptor, (ProtobufCMessage **) &me,
                         cp_deadline_in(10000), &status);
    check(result == CP_OK && me && strcmp(me->email, config.email) == 0, "the generic call answers WhoAmI: %s",
          status.message);
    if (me) FREE(me);
    result = cp_call(client, "Identity.WhoAmI", session, &who.base, &contactpoint__v1__practitioner_summary__descriptor,
                     (ProtobufCMessage **) &me, cp_deadline_in(10000), &status);
    check(result == CP_INVALID_ARGUMENT, "a method not named /package.Service/Method is refused: %s", status.message);
    result = cp_call(client, "/contactpoint.v1.Identity/NoSuchMethod", session, &who.base,
                     &contactpoint__v1__practitioner_summary__descriptor, (ProtobufCMessage **) &me,
                     cp_deadline_in(10000), &status);
    check(result == CP_UNIMPLEMENTED, "an unknown method is UNIMPLEMENTED: %s", cp_code_name(result));

    Contactpoint__V1__SearchChildrenRequest search = CONTACTPOINT__V1__SEARCH_CHILDREN_REQUEST__INIT;
    search.reason = &contact_practitioners;
    search.given_name = (char *) config.given;
    search.family_name = (char *) config.family;
    enum { IN_FLIGHT = 16 };
    cp_pending *calls[IN_FLIGHT];
    for (int i = 0; i < IN_FLIGHT; i++)
        calls[i] = cp_start(client, "/contactpoint.v1.Index/SearchChildren", session, &search.base,
                            &contactpoint__v1__search_children_response__descriptor, cp_deadline_in(20000));
    int answered = 0;
    for (int i = IN_FLIGHT - 1; i >= 0; i--) {
        Contactpoint__V1__SearchChildrenResponse *found = NULL;
        if (cp_finish(client, calls[i], (ProtobufCMessage **) &found, &status) == CP_OK && found->n_matches > 0) answered++;
        if (found) FREE(found);
    }
    check(answered == IN_FLIGHT, "%d searches in flight at once from one thread, finished in reverse: %d answered",
          IN_FLIGHT, answered);
}

/* What binds a gateway to its organisation. */
static void gateway_bound(cp_client *client) {
    cp_status status;
    char code[7];
    totp_code(config.other_totp_secret_hex, time(NULL) / 30, code);
    cp_session *other = NULL;
    int result = cp_sign_in(client, config.other_email, config.other_password, code, &other, NULL, cp_deadline_in(10000),
                            &status);
    check(result == CP_PERMISSION_DENIED && !other, "a practitioner of another organisation cannot sign in here: %s %s",
          cp_code_name(result), status.message);

    cp_session *foreign = cp_session_from_token(config.foreign_token);
    Contactpoint__V1__WhoAmIRequest who = CONTACTPOINT__V1__WHO_AM_IREQUEST__INIT;
    Contactpoint__V1__PractitionerSummary *me = NULL;
    result = cp_call(client, "/contactpoint.v1.Identity/WhoAmI", foreign, &who.base,
                     &contactpoint__v1__practitioner_summary__descriptor, (ProtobufCMessage **) &me, cp_deadline_in(10000),
                     &status);
    check(result == CP_UNAUTHENTICATED && !me, "a session granted to another system is useless here: %s", status.message);
    cp_session_free(foreign);

    Contactpoint__V1__ListAlertsRequest list = CONTACTPOINT__V1__LIST_ALERTS_REQUEST__INIT;
    Contactpoint__V1__ListAlertsResponse *inbox = NULL;
    result = cp_list_alerts(client, NULL, &list, &inbox, cp_deadline_in(10000), &status);
    check(result == CP_OK && inbox, "the gateway reads its organisation's alerts with its own key: %s", status.message);
    if (inbox) FREE(inbox);
}

/* Revoked: every broker refuses the gateway within seconds, on the connections already open. */
static void revoked(cp_client *client) {
    /* An open subscription to the organisation's alerts, read up to now */
    cp_status status;
    cp_alert_follower *follower = cp_follow_alerts(client, NULL, 0, 1);
    Contactpoint__V1__Alert *alert = NULL;
    while (cp_alert_follower_next(follower, &alert, cp_deadline_in(1000), &status) == CP_OK) FREE(alert);
    printf("step: revoke the gateway\n");
    fflush(stdout);
    check(wait_for_marker("gateway-revoked"), "the Swift side revoked the gateway");
    int64_t started = now_ms();
    int result = cp_alert_follower_next(follower, &alert, cp_deadline_in(15000), &status);
    if (alert) FREE(alert);
    check(result == CP_UNAUTHENTICATED, "the open subscription of a revoked gateway ends after %.1f s: %s %s",
          (double) (now_ms() - started) / 1000, cp_code_name(result), status.message);
    cp_alert_follower_free(follower);
    started = now_ms();
    result = CP_OK;
    while (now_ms() - started < 15000) {
        Contactpoint__V1__ListAlertsRequest list = CONTACTPOINT__V1__LIST_ALERTS_REQUEST__INIT;
        Contactpoint__V1__ListAlertsResponse *inbox = NULL;
        result = cp_list_alerts(client, NULL, &list, &inbox, cp_deadline_in(2000), &status);
        if (inbox) FREE(inbox);
        if (result == CP_UNAUTHENTICATED) break;
        struct timespec tick = {0, 100000000};
        nanosleep(&tick, NULL);
    }
    check(result == CP_UNAUTHENTICATED, "a revoked gateway is refused after %.1f s: %s",
          (double) (now_ms() - started) / 1000, status.message);
}

/* Follows the practitioner's alerts until one arrives; then checks nothing follows it. */
static Contactpoint__V1__Alert *next_alert(cp_alert_follower *follower, const char *what) {
    cp_status status;
    Contactpoint__V1__Alert *alert = NULL;
    int result = cp_alert_follower_next(follower, &alert, cp_deadline_in(30000), &status);
    check(result == CP_OK && alert, "%s arrives on the follower: %s", what, status.message);
    if (!alert) return NULL;
    Contactpoint__V1__Alert *extra = NULL;
    result = cp_alert_follower_next(follower, &extra, cp_deadline_in(1500), &status);
    check(result == CP_DEADLINE_EXCEEDED && !extra, "and only once (then: %s)", cp_code_name(result));
    if (extra) FREE(extra);
    return alert;
}

static void follow_alerts(cp_session *session) {
    cp_status status;
    cp_client *client = new_client();
    Contactpoint__V1__ListAlertsRequest list = CONTACTPOINT__V1__LIST_ALERTS_REQUEST__INIT;
    Contactpoint__V1__ListAlertsResponse *inbox = NULL;
    int result = cp_list_alerts(client, session, &list, &inbox, cp_deadline_in(10000), &status);
    check(result == CP_OK && inbox, "the inbox lists: %s", status.message);
    uint64_t start = inbox && inbox->n_alerts ? inbox->alerts[inbox->n_alerts - 1]->sequence : 0;
    if (inbox) FREE(inbox);

    cp_alert_follower *follower = cp_follow_alerts(client, session, start, 0);
    Contactpoint__V1__Alert *none = NULL;
    cp_alert_follower_next(follower, &none, cp_deadline_in(500), &status); /* subscribed before the next step */
    if (none) FREE(none);
    printf("step: following alerts\n");
    fflush(stdout);
    Contactpoint__V1__Alert *first = next_alert(follower, "an involvement recorded from the Swift command line");
    if (first) {
        check(strcmp(first->change, "involvement-recorded") == 0, "it says what changed: %s", first->change);
        FREE(first);
    }
    uint64_t cursor = cp_alert_follower_cursor(follower);
    cp_alert_follower_free(follower);
    cp_client_free(client);
    printf("step: follower closed\n");
    fflush(stdout);

    /* Reconnect with a new client while the next alert is raised, and resume from the cursor. */
    check(wait_for_marker("alert-raised-while-away"), "the Swift side raised an indicator");
    client = new_client();
    follower = cp_follow_alerts(client, session, cursor, 0);
    Contactpoint__V1__Alert *second = next_alert(follower, "the indicator raised while away");
    if (second) {
        check(strcmp(second->change, "indicator-raised") == 0, "it is the indicator: %s", second->change);
        Contactpoint__V1__Alert *acknowledged = NULL;
        result = cp_update_alert(client, session, second->alert_id, CONTACTPOINT__V1__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED,
                                 &acknowledged, cp_deadline_in(10000), &status);
        check(result == CP_OK && acknowledged && acknowledged->state == CONTACTPOINT__V1__ALERT_STATE__ALERT_STATE_ACKNOWLEDGED,
              "the alert is acknowledged: %s", status.message);
        if (acknowledged) FREE(acknowledged);
        FREE(second);
    }
    cp_alert_follower_free(follower);
    cp_client_free(client);
}

static void broker_killed(cp_client *client, cp_session *session) {
    printf("step: kill a broker\n");
    fflush(stdout);
    check(wait_for_marker("broker-killed"), "the Swift side killed a broker");
    cp_status status;
    Contactpoint__V1__SearchChildrenRequest search = CONTACTPOINT__V1__SEARCH_CHILDREN_REQUEST__INIT;
    search.reason = &contact_practitioners;
    search.given_name = (char *) config.given;
    search.family_name = (char *) config.family;
    int answered = 0;
    char last[512] = "";
    for (int i = 0; i < 20; i++) {
        Contactpoint__V1__SearchChildrenResponse *found = NULL;
        if (cp_search(client, session, &search, &found, cp_deadline_in(10000), &status) == CP_OK) answered++;
        else snprintf(last, sizeof last, "%s", status.message);
        if (found) FREE(found);
    }
    check(answered == 20, "20 searches after the broker went: %d answered %s", answered, last);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sdk-check CONFIG\n");
        return 2;
    }
    read_config(argv[1]);
    bad_input();
    cp_client *client = new_client();
    cp_session *session = sign_in(client);
    gateway_bound(client);
    char *child = find_child(client, session);
    printf("step: child %s\n", child);
    char *involvement = record_involvement(client, session, child);
    generic_and_pipelined(client, session);
    follow_alerts(session);
    broker_killed(client, session);

    cp_status status;
    Contactpoint__V1__EndInvolvementRequest end = CONTACTPOINT__V1__END_INVOLVEMENT_REQUEST__INIT;
    end.involvement_id = involvement;
    Contactpoint__V1__Involvement *ended = NULL;
    int result = cp_end_involvement(client, session, &end, &ended, cp_deadline_in(10000), &status);
    check(result == CP_OK && ended && ended->end_date[0], "the involvement is ended: %s", status.message);
    if (ended) FREE(ended);

    result = cp_session_refresh(client, session, cp_deadline_in(10000), &status);
    check(result == CP_OK, "the session is refreshed: %s", status.message);
    result = cp_sign_out(client, session, cp_deadline_in(10000), &status);
    check(result == CP_OK, "signed out: %s", status.message);
    Contactpoint__V1__WhoAmIRequest who = CONTACTPOINT__V1__WHO_AM_IREQUEST__INIT;
    Contactpoint__V1__PractitionerSummary *me = NULL;
    result = cp_call(client, "/contactpoint.v1.Identity/WhoAmI", session, &who.base,
                     &contactpoint__v1__practitioner_summary__descriptor, (ProtobufCMessage **) &me,
                     cp_deadline_in(10000), &status);
    check(result == CP_UNAUTHENTICATED && !me, "the ended session is refused: %s", cp_code_name(result));
    revoked(client);

    free(involvement);
    free(child);
    cp_session_free(session);
    cp_client_free(client);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
