/* Key files as `contactpoint keys generate` writes them: `name = value` lines, `#` comments. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static char *trimmed(char *text) {
    while (*text == ' ' || *text == '\t') text++;
    size_t length = strlen(text);
    while (length > 0 && strchr(" \t\r\n", text[length - 1])) text[--length] = '\0';
    return text;
}

int cp_read_key_field(const char *path, const char *field, cp_z85_key key, cp_status *status) {
    FILE *file = fopen(path, "r");
    if (!file) return cp_fail(status, CP_INVALID_ARGUMENT, "cannot read key file %s: %s", path, strerror(errno));
    char line[512];
    int code = cp_fail(status, CP_INVALID_ARGUMENT, "key file %s: no %s line", path, field);
    while (fgets(line, sizeof line, file)) {
        char *text = trimmed(line);
        char *equals = strchr(text, '=');
        if (text[0] == '#' || !equals) continue;
        *equals = '\0';
        if (strcmp(trimmed(text), field) != 0) continue;
        char *value = trimmed(equals + 1);
        if (strlen(value) != 40) {
            code = cp_fail(status, CP_INVALID_ARGUMENT, "key file %s: %s is not a 40-character Z85 key", path, field);
        } else {
            memcpy(key, value, 41);
            code = cp_succeed(status);
        }
        break;
    }
    explicit_bzero(line, sizeof line);
    fclose(file);
    return code;
}
