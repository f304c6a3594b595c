/* serve_replica.h - one serving replica stepped event by event, for the
 * fleet simulator (sim/fleet.c; private to sim/serve.c and sim/fleet.c).
 *
 * A replica is serve_run's engine and scheduler (sim/serve.c) with its own
 * device, tp, clock and KV cache, fed by a router instead of a request list:
 * serve_replica_push hands it a request at its arrival time, and the fleet
 * advances every replica in time order through serve_replica_next /
 * serve_replica_event (an event starts an iteration, which costs and
 * schedules it, or ends one, which advances the clock and hands out tokens).
 * One replica fed every request reproduces serve_run exactly.
 *
 * Entry points: serve_replica_open/_push/_next/_event/_finish/_free. */
#ifndef OB_SERVE_REPLICA_H
#define OB_SERVE_REPLICA_H

#include "serve.h"

enum serve_role {
    SERVE_ROLE_BOTH,    /* prefill and decode (the usual replica) */
    SERVE_ROLE_PREFILL, /* disaggregated: prompts only; hands the KV cache on */
    SERVE_ROLE_DECODE,  /* disaggregated: receives prefilled requests */
    SERVE_ROLE_COUNT
};

/* A prompt a prefill replica finished, whose request decodes elsewhere. */
struct serve_handoff {
    double t_s;      /* absolute time the prompt's last chunk ended */
    double before_s; /* seconds from the router's arrival to t_s */
    double input, output;
};

/* What replicas report to the fleet: fleet-wide latency samples (measured
 * from the request's arrival at the router) and hand-offs. */
struct serve_fleet_out {
    struct serve_stream ttft, e2e, gaps;
    struct serve_handoff *ho;
    size_t nho, ho_cap;
};

struct serve_replica;

/* Opens a replica of scenario s (its model, limits and engine options) on hw
 * over tp devices in the given role, reporting into fo (may be NULL) and
 * filling r at serve_replica_finish. cap: most requests it may be handed. 0,
 * or -1 with e set (weights do not fit, no KV memory). */
int serve_replica_open(const struct serve_scenario *s, const struct serve_hw *hw, double tp,
                       enum serve_role role, struct serve_fleet_out *fo, size_t cap,
                       struct serve_result *r, struct serve_replica **out, struct err *e);
/* The KV-cache limit and bytes a sequence of `tokens` holds, per device. */
double serve_replica_kv_limit(const struct serve_replica *x);
double serve_replica_kv_bytes(const struct serve_replica *x, double tokens);
/* Hands a request over at absolute time t_s (never before the replica's
 * clock), before_s seconds after it reached the router. prefilled: its
 * prompt ran elsewhere and its first token is out. */
void serve_replica_push(struct serve_replica *x, double t_s, double before_s, double input,
                        double output, bool prefilled);
/* The time of the replica's next event (+inf: idle until a push); *ends is
 * set when that event ends an iteration. */
double serve_replica_next(const struct serve_replica *x, bool *ends);
/* Runs that event. */
void serve_replica_event(struct serve_replica *x);
double serve_replica_outstanding(const struct serve_replica *x); /* tokens still to do */
double serve_replica_work(const struct serve_replica *x);        /* SERVE_MAX_WORK units */
double serve_replica_done(const struct serve_replica *x);        /* requests finished here */
double serve_replica_iterations(const struct serve_replica *x);
/* Statistics and price into r, over makespan_s (the fleet's) . */
void serve_replica_finish(struct serve_replica *x, double makespan_s);
void serve_replica_free(struct serve_replica *x); /* accepts NULL */

#endif
