/* Load from the C SDK, for the index benchmark (Benchmarks/Sources/IndexBenchmark), which starts
   it beside its other clients so that the three are measured in one run:

     sdk-bench ENDPOINT BROKER.pub CLIENT.key TOKEN CALLS SECONDS IN-FLIGHT

   CALLS holds the lookups to make, in turn: records of a kind byte (0 search, 1 view), a 4-byte
   little-endian length and the encoded request. First 2,000 sequential searches (latency), then
   IN-FLIGHT calls outstanding from one client for SECONDS (throughput). Prints one line of
   `name=value` figures. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "contactpoint.h"

typedef struct {
    int view;
    ProtobufCMessage *request;
} lookup;

static const char *const methods[] = {"/contactpoint.v1.Index/SearchChildren", "/contactpoint.v1.Index/ViewRecord"};
static const ProtobufCMessageDescriptor *const replies[] = {
    &contactpoint__v1__search_children_response__descriptor, &contactpoint__v1__child_record__descriptor};

static double now_seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double) usage.ru_utime.tv_sec + (double) usage.ru_utime.tv_usec / 1e6 + (double) usage.ru_stime.tv_sec
           + (double) usage.ru_stime.tv_usec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static size_t read_lookups(const char *path, lookup **out) {
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        exit(2);
    }
    size_t count = 0, capacity = 1024;
    lookup *lookups = malloc(capacity * sizeof *lookups);
    unsigned char kind, length_bytes[4];
    while (fread(&kind, 1, 1, file) == 1 && fread(length_bytes, 1, 4, file) == 4) {
        uint32_t length = length_bytes[0] | length_bytes[1] << 8 | length_bytes[2] << 16 | (uint32_t) length_bytes[3] << 24;
        uint8_t *bytes = malloc(length ? length : 1);
        if (fread(bytes, 1, length, file) != length) break;
        const ProtobufCMessageDescriptor *type = kind ? &contactpoint__v1__view_record_request__descriptor
                                                      : &contactpoint__v1__search_children_request__descriptor;
        ProtobufCMessage *request = protobuf_c_message_unpack(type, NULL, length, bytes);
        free(bytes);
        if (!request) continue;
        if (count == capacity) lookups = realloc(lookups, (capacity *= 2) * sizeof *lookups);
        lookups[count++] = (lookup) {kind != 0, request};
    }
    fclose(file);
    *out = lookups;
    return count;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: sdk-bench ENDPOINT BROKER.pub CLIENT.key TOKEN CALLS SECONDS IN-FLIGHT\n");
        return 2;
    }
    const char *endpoint = argv[1], *broker_key = argv[2];
    cp_client_options options = {&endpoint, &broker_key, 1, argv[3]};
    cp_status status;
    cp_client *client = cp_client_new(&options, &status);
    if (!client) {
        fprintf(stderr, "sdk-bench: %s\n", status.message);
        return 1;
    }
    cp_session *session = cp_session_from_token(argv[4]);
    lookup *lookups;
    size_t count = read_lookups(argv[5], &lookups);
    double seconds = atof(argv[6]);
    int in_flight = atoi(argv[7]);
    if (count == 0 || in_flight < 1 || in_flight > 1024) {
        fprintf(stderr, "sdk-bench: no calls, or IN-FLIGHT outside 1–1024\n");
        return 2;
    }

    /* Latency: sequential searches. */
    enum { SEQUENTIAL = 2000 };
    double *latencies = malloc(SEQUENTIAL * sizeof *latencies);
    size_t measured = 0, next = 0, failed = 0;
    char first_failure[600] = "";
    for (size_t i = 0; measured < SEQUENTIAL && i < 4 * SEQUENTIAL; i++) {
        const lookup *call = &lookups[next++ % count];
        if (call->view) continue;
        ProtobufCMessage *reply = NULL;
        double started = now_seconds();
        int code = cp_call(client, methods[0], session, call->request, replies[0], &reply, cp_deadline_in(10000), &status);
        latencies[measured++] = now_seconds() - started;
        if (reply) protobuf_c_message_free_unpacked(reply, NULL);
        if (code != CP_OK && !failed++) snprintf(first_failure, sizeof first_failure, "%s", status.message);
    }
    qsort(latencies, measured, sizeof *latencies, compare);

    /* Throughput: `in_flight` calls outstanding, each replaced as it finishes (oldest first). */
    cp_pending **pending = calloc((size_t) in_flight, sizeof *pending);
    size_t completed = 0, throughput_failed = 0;
    double cpu_before = cpu_seconds(), started = now_seconds(), until = started + seconds;
    for (int i = 0; i < in_flight; i++) {
        const lookup *call = &lookups[next++ % count];
        pending[i] = cp_start(client, methods[call->view], session, call->request, replies[call->view], cp_deadline_in(10000));
    }
    for (size_t slot = 0; now_seconds() < until; slot = (slot + 1) % (size_t) in_flight) {
        ProtobufCMessage *reply = NULL;
        if (cp_finish(client, pending[slot], &reply, &status) == CP_OK) completed++;
        else if (!throughput_failed++) snprintf(first_failure, sizeof first_failure, "%s", status.message);
        if (reply) protobuf_c_message_free_unpacked(reply, NULL);
        const lookup *call = &lookups[next++ % count];
        pending[slot] = cp_start(client, methods[call->view], session, call->request, replies[call->view], cp_deadline_in(10000));
    }
    double elapsed = now_seconds() - started, cpu = cpu_seconds() - cpu_before;
    for (int i = 0; i < in_flight; i++) cp_finish(client, pending[i], NULL, NULL);

    printf("sequential_searches=%zu p50_ms=%.3f p99_ms=%.3f lookups_per_second=%.0f completed=%zu failed=%zu "
           "client_cpu_us_per_call=%.1f first_failure=\"%s\"\n",
           measured, measured ? latencies[measured / 2] * 1000 : 0, measured ? latencies[measured * 99 / 100] * 1000 : 0,
           (double) completed / elapsed, completed, failed + throughput_failed,
           completed ? cpu * 1e6 / (double) completed : 0, first_failure);
    for (size_t i = 0; i < count; i++) protobuf_c_message_free_unpacked(lookups[i].request, NULL);
    free(lookups);
    free(latencies);
    free(pending);
    cp_session_free(session);
    cp_client_free(client);
    return 0;
}
