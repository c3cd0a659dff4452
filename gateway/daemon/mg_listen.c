/* mg_listen: accept-error back-off shared by the ingest and HTTP listeners. */
#include "mg_listen.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* libevent hands the error callback the listener's own argument (evhttp's
 * for HTTP), so the guards are found by listener. */
#define MAX_GUARDS 16
static struct mg_listen_guard *guards[MAX_GUARDS];

static struct mg_listen_guard *guard_of(struct evconnlistener *lev)
{
    for (int i = 0; i < MAX_GUARDS; i++)
        if (guards[i] && guards[i]->lev == lev)
            return guards[i];
    return NULL;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mg_listen_guard *g = arg;
    evconnlistener_enable(g->lev);
}

/* Out of descriptors (EMFILE, ENFILE) or buffers, accept() fails at once
 * each time the loop polls the listening socket, which stays readable: the
 * loop spins and libevent logs every failure. Pause the listener instead;
 * the waiting connections stay in the kernel's backlog until it resumes. */
static void on_error(struct evconnlistener *lev, void *arg)
{
    (void)arg;
    int err = errno;
    struct mg_listen_guard *g = guard_of(lev);
    if (!g) {
        evconnlistener_disable(lev); /* cannot happen: init installs both */
        return;
    }
    g->stats->accept_errors++;
    evconnlistener_disable(lev);
    double p = g->pause;
    struct timeval tv = {(time_t)p, (suseconds_t)((p - (double)(time_t)p) * 1e6)};
    evtimer_add(&g->resume, &tv);
    g->pause = p * 2 > MG_LISTEN_PAUSE_MAX ? MG_LISTEN_PAUSE_MAX : p * 2;
    unsigned suppressed;
    if (mg_log_every(&g->log_limit, 1.0, &suppressed)) {
        char n[24], ms[24];
        snprintf(n, sizeof(n), "%u", suppressed);
        snprintf(ms, sizeof(ms), "%.0f", p * 1000);
        mg_log(MG_LOG_WARN, "accept failed; pausing the listener", "transport", g->transport,
               "err", strerror(err), "pause_ms", ms, "suppressed", n, NULL);
    }
}

void mg_listen_guard_init(struct mg_listen_guard *g, struct event_base *base,
                          struct evconnlistener *lev, struct mg_stats *stats,
                          const char *transport)
{
    memset(g, 0, sizeof(*g));
    g->lev = lev;
    g->stats = stats;
    g->transport = transport;
    g->pause = MG_LISTEN_PAUSE_MIN;
    evtimer_assign(&g->resume, base, on_resume, g);
    for (int i = 0; i < MAX_GUARDS; i++)
        if (!guards[i]) {
            guards[i] = g;
            evconnlistener_set_error_cb(lev, on_error);
            g->armed = 1;
            return;
        }
}

void mg_listen_guard_ok(struct mg_listen_guard *g)
{
    g->pause = MG_LISTEN_PAUSE_MIN;
}

void mg_listen_guard_fini(struct mg_listen_guard *g)
{
    if (!g->armed)
        return;
    event_del(&g->resume);
    for (int i = 0; i < MAX_GUARDS; i++)
        if (guards[i] == g)
            guards[i] = NULL;
    g->armed = 0;
}
