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

int mg_bench_http_send(SSL *ssl, int fd, const char *body, size_t n)
{
    char head[256];
    int hl = snprintf(head, sizeof(head),
                      "POST /api/v1/push HTTP/1.1\r\nHost: moongate\r\n"
                      "Content-Type: application/msgpack\r\nContent-Length: %zu\r\n\r\n", n);
    int rc = mg_bench_write_all(ssl, fd, head, (size_t)hl);
    return rc < 0 ? rc : mg_bench_write_all(ssl, fd, body, n);
}

int mg_bench_http_reply(SSL *ssl, int fd, struct mg_bench_http *rx, int *status,
                        char *reply, size_t cap, double timeout_s)
{
    char *buf = rx->buf, *end;
    size_t size = sizeof(rx->buf) - 1;
    int rc, tmo = (int)(timeout_s * 1000);
    for (;;) {
        buf[rx->len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n")))
            break;
        if (rx->len >= size)
            return -EPROTO;
        if ((rc = read_more(ssl, fd, buf, &rx->len, size, tmo)) < 0)
            return rc;
    }
    if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        return -EPROTO;
    size_t clen = 0;
    for (char *l = strstr(buf, "\r\n"); l && l < end; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtoul(l + 17, NULL, 10);
    size_t head = (size_t)(end + 4 - buf);
    if (head + clen > size)
        return -EPROTO;
    while (rx->len < head + clen)
        if ((rc = read_more(ssl, fd, buf, &rx->len, size, tmo)) < 0)
            return rc;
    size_t k = clen < cap - 1 ? clen : cap - 1;
    memcpy(reply, buf + head, k);
    reply[k] = '\0';
    /* what follows is the next reply's */
    rx->len -= head + clen;
    memmove(buf, buf + head + clen, rx->len);
    return 0;
}
