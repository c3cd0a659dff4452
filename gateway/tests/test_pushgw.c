/* test_pushgw: the grouping key of a Pushgateway path (@base64 values with
 * and without padding, "=" for empty, percent escapes, each refusal), the
 * protobuf framing's bounds (varint length, declared length, cap), and a
 * group's life through mg_pushgw_request on a gateway with a virtual clock:
 * PUT, POST, an empty PUT, DELETE, and a TTL. Exits non-zero and names
 * each failed case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mg_pbfmt.h"
#include "mg_pushgw.h"

static int failures, cases;

#define FAIL(line, ...)                                                     \
    do {                                                                    \
        failures++;                                                         \
        fprintf(stderr, "test_pushgw.c:%d: ", line);                        \
        fprintf(stderr, __VA_ARGS__);                                       \
        fputc('\n', stderr);                                                \
    } while (0)

/* path parses into want, "name=value,..." in sorted order, or is refused
 * with a message starting with want when want starts with "!". */
#define KEY(path, want) key_case(__LINE__, path, want)
static void key_case(int line, const char *path, const char *want)
{
    struct mg_label v[8];
    char buf[256], why[160], got[256] = "";
    cases++;
    int n = mg_pushgw_parse_key(path, v, 8, buf, why, sizeof(why));
    if (want[0] == '!') {
        if (n >= 0)
            FAIL(line, "%s accepted", path);
        else if (strncmp(why, want + 1, strlen(want + 1)) != 0)
            FAIL(line, "%s: \"%s\", want \"%s...\"", path, why, want + 1);
        return;
    }
    if (n < 0) {
        FAIL(line, "%s refused: %s", path, why);
        return;
    }
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(got + o, sizeof(got) - o, "%s%.*s=%.*s", i ? "," : "",
                              (int)v[i].nlen, v[i].name, (int)v[i].vlen, v[i].value);
    if (strcmp(got, want) != 0)
        FAIL(line, "%s: got %s, want %s", path, got, want);
}

static void test_keys(void)
{
    KEY("/job/batch", "job=batch");
    KEY("/job/batch/instance/w1/a/b", "a=b,instance=w1,job=batch");
    KEY("/job@base64/YS9i", "job=a/b");
    KEY("/job@base64/YS9iYw==", "job=a/bc");
    KEY("/job@base64/YS9iYw", "job=a/bc");
    KEY("/job/x/path@base64/L3Zhci90bXA", "job=x,path=/var/tmp");
    KEY("/job/x/empty@base64/=", "empty=,job=x");
    KEY("/job/x/empty@base64/", "empty=,job=x");
    KEY("/job/a%20b/x/%C3%A9", "job=a b,x=é");
    KEY("/job/x/y@base64/fn5-", "job=x,y=~~~");
    KEY("/job/x/y@base64/Pz8_", "job=x,y=???");
    KEY("/job/x/y@base64/w6k", "job=x,y=é");
    /* escapes are decoded before the path is split, as Go's router does */
    KEY("/job/a%2Fb", "!label b has no value");
    KEY("/job/x/y@base64/-_8", "!value of label y is not UTF-8");
    KEY("/job", "!the path must be /metrics/job/<job>");
    KEY("/jobs/x", "!the path must be /metrics/job/<job>");
    KEY("/job/", "!empty value for label job");
    KEY("/job@base64/=", "!job name is required");
    KEY("/job/x/a", "!label a has no value");
    KEY("/job/x/a/", "!empty value for label a: use a@base64/=");
    KEY("/job/x/", "!a trailing slash");
    KEY("/job/x/a/1/", "!a trailing slash");
    KEY("/job/x/__a/1", "!invalid label name \"__a\"");
    KEY("/job/x/1a/1", "!invalid label name \"1a\"");
    KEY("/job/x/a/1/a/2", "!label a appears twice");
    KEY("/job/x/job/y", "!label job appears twice");
    KEY("/job@base64/YS9!", "!invalid base64 value for label job");
    KEY("/job@base64/YS9iY", "!invalid base64 value for label job");
    KEY("/job@base64/YS+i", "!invalid base64 value for label job");
    KEY("/job/x%2", "!invalid percent escape");
    KEY("/job/x%00", "!invalid percent escape");
    KEY("/job/x/a/1/b/2/c/3/d/4/e/5/f/6/g/7/h/8", "!more than 8 labels");
}

/* buf[0..len) frames into n messages, then ends or fails with want. */
static void frame_case(int line, const char *buf, size_t len, size_t max,
                       int n, const char *want)
{
    struct mg_pbfmt pb;
    const mg_pb_family *mf;
    enum mg_reason r;
    char why[MG_WHY_LEN];
    int rc, k = 0;
    cases++;
    mg_pbfmt_init(&pb, buf, len, max);
    while ((rc = mg_pbfmt_next(&pb, &mf, &r, why)) == 1)
        k++;
    if (k != n)
        FAIL(line, "%d messages, want %d", k, n);
    else if (want && (rc != -1 || strncmp(why, want, strlen(want)) != 0))
        FAIL(line, "rc %d \"%s\", want \"%s...\"", rc, rc < 0 ? why : "", want);
    else if (!want && rc != 0)
        FAIL(line, "refused: %s", why);
    mg_pbfmt_fini(&pb);
}
#define FRAME(buf, max, n, want) frame_case(__LINE__, buf, sizeof(buf) - 1, max, n, want)

static void test_frames(void)
{
    /* a MetricFamily {name: "a"}: field 1, length 1, "a" */
    FRAME("\x03\x0a\x01" "a", 100, 1, NULL);
    FRAME("\x03\x0a\x01" "a" "\x03\x0a\x01" "b", 100, 2, NULL);
    FRAME("\x00", 100, 1, NULL); /* an empty message is a family without a name */
    FRAME("\x03\x0a\x01" "a" "\x05\x0a", 100, 1, "message 2 at byte 4: says 5 bytes, 1 are left");
    FRAME("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 100, 0,
          "message 1 at byte 0: the length is not a varint");
    FRAME("\x80", 100, 0, "message 1 at byte 0: the length is not a varint");
    FRAME("\x90\x4e", 100, 0, "message 1 at byte 0: 10000 bytes, more than 100");
    FRAME("\x03\x0a\x05" "a", 100, 0, "message 1 at byte 0: not a MetricFamily");
}

/* One request; checks the status. */
static struct mg_buf reply;
static void req(int line, struct mg_pushgw *pg, enum mg_pushgw_method m,
                const char *path, const char *body, int want)
{
    cases++;
    int code = mg_pushgw_request(pg, m, path, MG_PUSHGW_TEXT, body, strlen(body), &reply);
    if (code != want)
        FAIL(line, "%s: %d, want %d: %.*s", path, code, want, (int)reply.len, reply.p);
}
#define REQ(m, path, body, want) req(__LINE__, pg, m, path, body, want)

/* The scrape has (want 1) or lacks (want 0) line. */
static void has(int line, struct mg_gateway *gw, const char *text, int want)
{
    struct mg_buf out = {0};
    cases++;
    mg_gateway_render(gw, MG_FORMAT_TEXT, &out);
    mg_buf_addc(&out, '\0');
    if ((strstr(out.p, text) != NULL) != want)
        FAIL(line, "scrape %s \"%s\"", want ? "lacks" : "has", text);
    mg_buf_fini(&out);
}
#define HAS(text) has(__LINE__, gw, text, 1)
#define LACKS(text) has(__LINE__, gw, text, 0)

static void test_groups(void)
{
    struct mg_config cfg;
    char why[256];
    mg_config_init(&cfg);
    cfg.pushgw_ttl[0].job = strdup("short.*");
    cfg.pushgw_ttl[0].seconds = 60;
    cfg.npushgw_ttl = 1;
    struct mg_gateway *gw = mg_gateway_new(&cfg, 1, 1700000000000LL, why, sizeof(why));
    struct mg_pushgw *pg = gw ? mg_pushgw_new(gw, &cfg, why, sizeof(why)) : NULL;
    if (!pg) {
        FAIL(__LINE__, "%s", why);
        return;
    }
    REQ(MG_PUSHGW_PUT, "/job/j/i/1", "a 1\nb{x=\"y\"} 2\n", 200);
    HAS("a{i=\"1\",job=\"j\"} 1\n");
    HAS("push_time_seconds{i=\"1\",job=\"j\"} 1700000000\n");
    HAS("push_failure_time_seconds{i=\"1\",job=\"j\"} 0\n");
    REQ(MG_PUSHGW_POST, "/job/j/i/1", "b{x=\"z\"} 3\n", 200);
    HAS("a{i=\"1\",job=\"j\"} 1\n");
    LACKS("b{i=\"1\",job=\"j\",x=\"y\"}");
    HAS("b{i=\"1\",job=\"j\",x=\"z\"} 3\n");
    mg_gateway_advance(gw, 5);
    REQ(MG_PUSHGW_PUT, "/job/j/i/1", "", 200);
    LACKS("a{i=\"1\",job=\"j\"}");
    LACKS("b{i=\"1\",job=\"j\"");
    HAS("push_time_seconds{i=\"1\",job=\"j\"} 1700000005\n");
    REQ(MG_PUSHGW_PUT, "/job/j/i/1", "a 1 17\n", 400);
    HAS("push_failure_time_seconds{i=\"1\",job=\"j\"} 1700000005\n");
    REQ(MG_PUSHGW_DELETE, "/job/j/i/1", "", 202);
    LACKS("push_time_seconds{i=\"1\",job=\"j\"}");
    REQ(MG_PUSHGW_DELETE, "/job/never", "", 202);
    REQ(MG_PUSHGW_PUT, "/job/short_one", "s 1\n", 200);
    REQ(MG_PUSHGW_PUT, "/job/long_one", "s 2\n", 200);
    mg_gateway_advance(gw, 59);
    mg_pushgw_sweep(pg);
    HAS("s{job=\"short_one\"} 1\n");
    mg_gateway_advance(gw, 2);
    mg_pushgw_sweep(pg);
    LACKS("s{job=\"short_one\"}");
    HAS("s{job=\"long_one\"} 2\n");
    REQ(MG_PUSHGW_PUT, "/job/bad", "x{", 400);
    REQ(MG_PUSHGW_PUT, "/jab/bad", "x 1\n", 400);
    mg_pushgw_free(pg);
    mg_gateway_free(gw);
    mg_config_fini(&cfg);
}

int main(void)
{
    test_keys();
    test_frames();
    test_groups();
    mg_buf_fini(&reply);
    if (failures) {
        fprintf(stderr, "test_pushgw: %d of %d cases failed\n", failures, cases);
        return 1;
    }
    printf("test_pushgw: %d cases passed\n", cases);
    return 0;
}
