/* mg_loadgen_http: POST /api/v1/push with keep-alive, for moongate-bench. */
#include "mg_loadgen_http.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mg_loadgen_tls.h"

/* Reads at least one more byte into buf[*len .. cap). */
static int read_more(SSL *ssl, int fd, char *buf, size_t *len, size_t cap,
                     int timeout_ms)
{
    for (;;) {
        if (!(ssl && SSL_pending(ssl))) {
            struct pollfd pfd = { fd, POLLIN, 0 };
            int pr = poll(&pfd, 1, timeout_ms);
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr <= 0)
                return pr == 0 ? -ETIMEDOUT : -errno;
        }
        ssize_t r = mg_bench_read(ssl, fd, buf + *len, cap - *len);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return r == 0 ? -ECONNRESET : -errno;
        *len += (size_t)r;
        return 0;
    }
}

int mg_bench_http_push(SSL *ssl, int fd, const char *body, size_t n,
                       int *status, char *reply, size_t cap, double timeout_s)
{
    char head[256], buf[8192];
    int hl = snprintf(head, sizeof(head),
                      "POST /api/v1/push HTTP/1.1\r\nHost: moongate\r\n"
                      "Content-Type: application/msgpack\r\nContent-Length: %zu\r\n\r\n", n);
    int rc, tmo = (int)(timeout_s * 1000);
    if ((rc = mg_bench_write_all(ssl, fd, head, (size_t)hl)) < 0 ||
        (rc = mg_bench_write_all(ssl, fd, body, n)) < 0)
        return rc;
    size_t len = 0;
    char *end;
    for (;;) {
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")))
            break;
        if (len + 1 >= sizeof(buf))
            return -EPROTO;
        if ((rc = read_more(ssl, fd, buf, &len, sizeof(buf) - 1, tmo)) < 0)
            return rc;
    }
    if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        return -EPROTO;
    size_t clen = 0;
    for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtoul(l + 17, NULL, 10);
    size_t have = len - (size_t)(end + 4 - buf);
    if (clen >= sizeof(buf) / 2)
        return -EPROTO;
    memmove(buf, end + 4, have);
    while (have < clen)
        if ((rc = read_more(ssl, fd, buf, &have, sizeof(buf) - 1, tmo)) < 0)
            return rc;
    size_t k = clen < cap - 1 ? clen : cap - 1;
    memcpy(reply, buf, k);
    reply[k] = '\0';
    return 0;
}
