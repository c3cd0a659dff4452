/* mg_addr: listen addresses as the flags and config write them. */
#ifndef MG_ADDR_H
#define MG_ADDR_H

#include <sys/socket.h>

/* Parses "host:port" ("[::1]:9477", ":9477" for every address, a name
 * like localhost) into a sockaddr; 0 or -1. */
int mg_parse_hostport(const char *addr, struct sockaddr_storage *ss,
                      int *sslen);
/* Formats the local address of fd as "host:port" into buf; returns buf. */
const char *mg_sock_name(int fd, char *buf, size_t len);
/* Formats a peer's address as logs name it: "ip:port", "[ip6]:port",
 * "unix:<path>" or "unix" (an unnamed unix socket), "?" for anything
 * else or NULL; returns buf. */
const char *mg_addr_name(const struct sockaddr *sa, char *buf, size_t len);
/* The same for the peer of a connected socket fd. */
const char *mg_peer_name(int fd, char *buf, size_t len);

#endif
