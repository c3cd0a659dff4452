/* lm_rules: the module's view of the rules for busted specs: gw:rules()
 * (groups and rules as /api/v1/rules shows them), gw:evaluate_at(t), and
 * gw:notifications() (what the notifier was handed, recorded here since a
 * module gateway has no event loop and no Alertmanager). Owns the record. */
#ifndef LM_RULES_H
#define LM_RULES_H

#include <lua.h>

struct mg_gateway;
struct lm_sent;

/* A record of sent alerts, hooked into gw. NULL on ENOMEM. */
struct lm_sent *lm_sent_new(struct mg_gateway *gw);
void lm_sent_free(struct lm_sent *s);

/* gw:rules() -> { {file, interval, query_offset, limit, last_evaluation,
 * rules = { {name, type, health, last_error, last_evaluation, state,
 * duration, alerts}, ... }}, ... }; times in seconds, never-evaluated
 * ones absent. */
int lm_rules_push(lua_State *L, const struct mg_gateway *gw);
/* gw:notifications() -> { {labels, annotations, starts_at, ends_at,
 * generator_url, sent_at}, ... } since the last call, oldest first. */
int lm_sent_push(lua_State *L, struct lm_sent *s);

#endif
