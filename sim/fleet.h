/* fleet.h - replicas behind a router (`fleet:` in a serve scenario).
 *
 * N replicas, each serve's engine and scheduler (serve_replica_*, serve.h) with its
 * own tp and device, receive the scenario's requests from a global router:
 * round-robin or least outstanding tokens. Replicas may be split into a
 * prefill pool and a decode pool (DistServe / Splitwise style): a prompt runs
 * on a prefill replica, its KV cache crosses a link (latency + bytes /
 * bandwidth), and it decodes on a decode replica. Replicas are stepped in
 * lockstep, one event at a time in time order, on one thread: the router
 * reads replica state at each arrival (docs/serving.md, "Fleet").
 *
 * Entry points: fleet_load (from serve_load), fleet_schema_section,
 * fleet_run, fleet_result_free. To add a router: a name in ROUTER_NAMES
 * (fleet.c), an enum value, and its choice in route(). */
#ifndef OB_FLEET_H
#define OB_FLEET_H

#include "core/yml.h"
#include "serve.h"

#define FLEET_MAX_REPLICAS 256

enum fleet_router { FLEET_ROUND_ROBIN, FLEET_LEAST_TOKENS, FLEET_ROUTER_COUNT };

struct fleet_replica_spec {
    double tp;
    char hw[1024]; /* resolved device path; "" = the --hw device */
    int role;      /* enum serve_role (serve.h) */
};

struct serve_fleet {
    enum fleet_router router;
    int n; /* replicas (each group's count expanded) */
    struct fleet_replica_spec rep[FLEET_MAX_REPLICAS];
    bool disagg; /* prefill and decode pools */
    double link_bytes_per_s, link_latency_s;
    bool all_named; /* every replica names its device (--hw not needed) */
};

/* Reads the `fleet:` mapping at n into s->fleet (allocated). 0, or -1 with e
 * set (FILE:LINE:COL). */
int fleet_load(struct serve_scenario *s, const struct yml_doc *d, yml_node n, struct err *e);
int fleet_schema_section(int i, const char **title, const struct key_spec **keys, size_t *n);
void fleet_free(struct serve_fleet *f); /* accepts NULL */

struct fleet_result {
    int n;
    struct serve_result *rep; /* per replica (n) */
    struct serve_result total; /* fleet: requests, latencies from the router's arrival,
                                * throughput, iterations summed, price summed */
    double kv_transfers, kv_transfer_bytes, kv_transfer_s; /* disaggregated: summed */
    char role[FLEET_MAX_REPLICAS][8];
};

/* Runs scenario s (s->fleet set) with d the device of replicas that name
 * none (may be NULL when every replica names one). 0, or -1 with e set. */
int fleet_run(const struct serve_scenario *s, const struct device *d, struct fleet_result *r,
              struct err *e);
void fleet_result_free(struct fleet_result *r);

#endif
