/* mg_addr: host:port parsing. */
#include "mg_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

int mg_parse_hostport(const char *addr, struct sockaddr_storage *ss, int *sslen)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || colon - addr >= (long)sizeof(host))
        return -1;
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    char *h = host;
    if (h[0] == '[') { /* [::1]:9092 */
        h++;
        h[strlen(h) - 1] = '\0';
    }
    if (!*h)
        h = "0.0.0.0";
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_family = AF_UNSPEC};
    struct addrinfo *res;
    if (getaddrinfo(h, colon + 1, &hints, &res) != 0) {
        hints.ai_flags = AI_NUMERICSERV; /* a name like localhost */
        if (getaddrinfo(h, colon + 1, &hints, &res) != 0)
            return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = (int)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *mg_sock_name(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            snprintf(buf, len, "[%s]:%d", host, ntohs(in6->sin6_port));
            return buf;
        }
    }
    snprintf(buf, len, "%s:%d", host, port);
    return buf;
}

const char *mg_addr_name(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%d", host, ntohs(in->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%d", host, ntohs(in6->sin6_port));
    } else if (sa && sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        /* a client's end is unnamed unless it bound one */
        if (un->sun_path[0])
            snprintf(buf, len, "unix:%.*s", (int)sizeof(un->sun_path), un->sun_path);
        else
            snprintf(buf, len, "unix");
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

const char *mg_peer_name(int fd, char *buf, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return mg_addr_name(NULL, buf, len);
    return mg_addr_name((struct sockaddr *)&ss, buf, len);
}
