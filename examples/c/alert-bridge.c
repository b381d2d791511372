/* alert-bridge: what an agency's case-management system does with libcontactpoint
   (docs/GATEWAYS.md). It signs a practitioner in (their password and code read from standard
   input, relayed, never kept), looks a child up with a reason, then follows the organisation's
   alerts and prints each as one JSON line for the case-management system to ingest. The cursor
   of the last alert printed is kept in a file, so that a restart resumes with nothing missed.

   Build: make (pkg-config finds libcontactpoint)
   Run:   alert-bridge --broker tcp://broker-1:5555,broker-1.pub [--broker ...] --key-file gateway.key
              [--email EMAIL --given NAME --family NAME --born YYYY-MM-DD]
              [--cursor-file FILE] [--max-alerts N] [--follow-seconds N]
   Exit status: 0, or 1 with the reason on standard error. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <contactpoint.h>

enum { MAX_BROKERS = 8 };

static const char usage[] =
    "usage: alert-bridge --broker ENDPOINT,BROKER.pub [--broker ...] --key-file GATEWAY.key\n"
    "           [--email EMAIL --given NAME --family NAME [--born YYYY-MM-DD]]\n"
    "           [--cursor-file FILE] [--max-alerts N] [--follow-seconds N]\n"
    "With --email, reads the practitioner's password and authenticator code (two lines) on standard\n"
    "input, signs them in and looks the child up with a reason. Then prints the organisation's alerts\n"
    "as JSON lines, from the cursor in FILE (kept up to date), until N alerts or N seconds (default:\n"
    "for ever).\n";

static void json_string(const char *text) {
    putchar('"');
    for (const unsigned char *c = (const unsigned char *) (text ? text : ""); *c; c++) {
        if (*c == '"' || *c == '\\') printf("\\%c", *c);
        else if (*c < 0x20) printf("\\u%04x", *c);
        else putchar(*c);
    }
    putchar('"');
}

static int fail(const char *what, const cp_status *status) {
    fprintf(stderr, "alert-bridge: %s: %s %s\n", what, cp_code_name(status->code), status->message);
    return 1;
}

static char *read_line(const char *what) {
    char *line = NULL;
    size_t size = 0;
    if (getline(&line, &size, stdin) < 0) {
        fprintf(stderr, "alert-bridge: give the %s on standard input\n", what);
        exit(1);
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

/* Searches with a reason, views the best match with a reason, prints it as one JSON line. */
static int look_up(cp_client *client, const cp_session *session, const char *given, const char *family,
                   const char *born) {
    cp_status status;
    Contactpoint__V1__AccessReason reason = CONTACTPOINT__V1__ACCESS_REASON__INIT;
    reason.code = CONTACTPOINT__V1__REASON_CODE__REASON_CODE_CONTACT_PRACTITIONERS;
    Contactpoint__V1__SearchChildrenRequest search = CONTACTPOINT__V1__SEARCH_CHILDREN_REQUEST__INIT;
    search.reason = &reason;
    search.given_name = (char *) given;
    search.family_name = (char *) family;
    search.date_of_birth = (char *) born;
    Contactpoint__V1__SearchChildrenResponse *found = NULL;
    if (cp_search(client, session, &search, &found, cp_deadline_in(10000), &status) != CP_OK)
        return fail("search", &status);
    if (found->n_matches == 0) {
        printf("{\"type\":\"no-match\"}\n");
        protobuf_c_message_free_unpacked(&found->base, NULL);
        return 0;
    }
    Contactpoint__V1__ViewRecordRequest view = CONTACTPOINT__V1__VIEW_RECORD_REQUEST__INIT;
    view.reason = &reason;
    view.child_id = found->matches[0]->child_id;
    Contactpoint__V1__ChildRecord *record = NULL;
    int result = cp_view(client, session, &view, &record, cp_deadline_in(10000), &status);
    protobuf_c_message_free_unpacked(&found->base, NULL);
    if (result != CP_OK) return fail("view", &status);
    printf("{\"type\":\"child\",\"child_id\":");
    json_string(record->child->child_id);
    printf(",\"shielded\":%s,\"involvements\":[", record->shielded ? "true" : "false");
    for (size_t i = 0; i < record->n_involvements; i++) {
        const Contactpoint__V1__Involvement *involvement = record->involvements[i];
        printf(i ? ",{\"organisation\":" : "{\"organisation\":");
        json_string(involvement->organisation_name);
        printf(",\"contact\":");
        json_string(involvement->contact ? involvement->contact->name : "");
        printf(",\"telephone\":");
        json_string(involvement->contact ? involvement->contact->telephone : "");
        printf("}");
    }
    printf("]}\n");
    fflush(stdout);
    protobuf_c_message_free_unpacked(&record->base, NULL);
    return 0;
}

static uint64_t read_cursor(const char *path) {
    unsigned long long cursor = 0;
    FILE *file = path ? fopen(path, "r") : NULL;
    if (file) {
        if (fscanf(file, "%llu", &cursor) != 1) cursor = 0;
        fclose(file);
    }
    return cursor;
}

/* Written to a new file and renamed over the old one: a crash leaves one or the other, whole. */
static void write_cursor(const char *path, uint64_t cursor) {
    if (!path) return;
    char temporary[4096];
    snprintf(temporary, sizeof temporary, "%s.new", path);
    FILE *file = fopen(temporary, "w");
    if (!file) return;
    fprintf(file, "%llu\n", (unsigned long long) cursor);
    if (fclose(file) == 0) rename(temporary, path);
}

static void print_alert(const Contactpoint__V1__Alert *alert) {
    printf("{\"type\":\"alert\",\"alert_id\":");
    json_string(alert->alert_id);
    printf(",\"change\":");
    json_string(alert->change);
    printf(",\"child_id\":");
    json_string(alert->child_id);
    printf(",\"from_organisation\":");
    json_string(alert->from ? alert->from->organisation_name : "");
    printf(",\"from_contact\":");
    json_string(alert->from && alert->from->contact ? alert->from->contact->name : "");
    printf(",\"telephone\":");
    json_string(alert->from && alert->from->contact ? alert->from->contact->telephone : "");
    printf(",\"created_at_ms\":%lld}\n", (long long) alert->created_at_ms);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *endpoints[MAX_BROKERS], *broker_keys[MAX_BROKERS];
    size_t brokers = 0;
    const char *key_file = NULL, *email = NULL, *given = NULL, *family = NULL, *born = "", *cursor_file = NULL;
    long max_alerts = -1, follow_seconds = -1;
    int help = argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0);
    if (help || argc < 2 || argc % 2 == 0) {
        if (!help && argc >= 2) fprintf(stderr, "alert-bridge: every option takes a value\n");
        fputs(usage, help ? stdout : stderr);
        return help ? 0 : 1;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *flag = argv[i], *value = argv[i + 1];
        if (strcmp(flag, "--broker") == 0 && brokers < MAX_BROKERS) {
            char *comma = strchr(argv[i + 1], ',');
            if (!comma) {
                fprintf(stderr, "alert-bridge: --broker ENDPOINT,PUBLIC-KEY-FILE\n");
                return 1;
            }
            *comma = '\0';
            endpoints[brokers] = argv[i + 1];
            broker_keys[brokers++] = comma + 1;
        } else if (strcmp(flag, "--key-file") == 0) key_file = value;
        else if (strcmp(flag, "--email") == 0) email = value;
        else if (strcmp(flag, "--given") == 0) given = value;
        else if (strcmp(flag, "--family") == 0) family = value;
        else if (strcmp(flag, "--born") == 0) born = value;
        else if (strcmp(flag, "--cursor-file") == 0) cursor_file = value;
        else if (strcmp(flag, "--max-alerts") == 0) max_alerts = atol(value);
        else if (strcmp(flag, "--follow-seconds") == 0) follow_seconds = atol(value);
        else {
            fprintf(stderr, "alert-bridge: unknown option %s\n%s", flag, usage);
            return 1;
        }
    }
    cp_status status;
    cp_client_options options = {endpoints, broker_keys, brokers, key_file};
    cp_client *client = cp_client_new(&options, &status);
    if (!client) return fail("connecting", &status);

    if (email && given && family) {
        char *password = read_line("password"), *code = read_line("authenticator code");
        cp_session *session = NULL;
        Contactpoint__V1__SessionGrant *grant = NULL;
        int result = cp_sign_in(client, email, password, code, &session, &grant, cp_deadline_in(10000), &status);
        free(password);
        free(code);
        if (result != CP_OK) return fail("sign-in", &status);
        printf("{\"type\":\"signed-in\",\"failed_attempts_since\":%u}\n", grant->failed_attempts_since);
        protobuf_c_message_free_unpacked(&grant->base, NULL);
        result = look_up(client, session, given, family, born);
        cp_sign_out(client, session, cp_deadline_in(5000), NULL);
        cp_session_free(session);
        if (result != 0) return result;
    }

    /* The organisation's alerts, read with the gateway's own key (no practitioner's session). */
    cp_alert_follower *follower = cp_follow_alerts(client, NULL, read_cursor(cursor_file), 1);
    cp_deadline until = follow_seconds < 0 ? INT64_MAX : cp_deadline_in(follow_seconds * 1000);
    int waiting_for_broker = 0;
    for (long printed = 0; max_alerts < 0 || printed < max_alerts;) {
        Contactpoint__V1__Alert *alert = NULL;
        /* Woken every 10 s at most, to say so while no broker connection is up. */
        cp_deadline next = until < cp_deadline_in(10000) ? until : cp_deadline_in(10000);
        int result = cp_alert_follower_next(follower, &alert, next, &status);
        if (result == CP_UNAVAILABLE) {
            if (next == until) return fail("following alerts", &status); /* never connected in time */
            if (!waiting_for_broker++) fprintf(stderr, "alert-bridge: waiting: %s\n", status.message);
            continue;
        }
        if (result == CP_DEADLINE_EXCEEDED) {
            if (next == until) break;
            continue;
        }
        if (result != CP_OK) return fail("following alerts", &status);
        waiting_for_broker = 0;
        printed++;
        print_alert(alert);
        write_cursor(cursor_file, cp_alert_follower_cursor(follower));
        protobuf_c_message_free_unpacked(&alert->base, NULL);
    }
    cp_alert_follower_free(follower);
    cp_client_free(client);
    return 0;
}
