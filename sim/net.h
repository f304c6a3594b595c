/* net.h - time of a collective on a device's network (docs/network.md).
 *
 * A group of n devices, numbered as the deployment lays them out (tensor
 * parallelism innermost, then data/expert parallelism, pipeline stages
 * outermost; Megatron-LM's order), with `stride` device numbers between two
 * members. On a device with a `network` map (hw/device.h) a group keeps
 * g = min(n, gpus_per_node / stride) members in each of k = ceil(n / g)
 * nodes; inside a node the members talk over the intra-node link
 * (interconnect_bytes_per_s, intra_latency_s), across nodes each member over
 * its own NIC (inter_bytes_per_s, inter_latency_s). Without the map every
 * group is one tier at interconnect_bytes_per_s with no latency (the model
 * before the network map, unchanged).
 *
 * Entry points: net_layout, net_time_s, net_op_time_s. */
#ifndef OB_NET_H
#define OB_NET_H

#include "../hw/device.h"
#include "core/graph.h"

enum net_coll {
    NET_ALLREDUCE, /* bytes: the buffer S every member holds and gets back summed */
    NET_ALLGATHER, /* bytes: the gathered output S (each member holds S/n) */
    NET_ALLTOALL,  /* bytes: what this member sends to the other members (uniform spread) */
    NET_P2P,       /* bytes: one send from one member to the next (n = 2) */
    NET_COLL_COUNT
};

/* How a group of n members `stride` apart sits on d's nodes. */
struct net_span {
    double g;       /* members per node */
    double k;       /* nodes */
    bool crosses;   /* k > 1 (some traffic goes over the inter-node tier) */
};
void net_layout(const struct device *d, double n, double stride, struct net_span *out);

/* Seconds of collective c moving `bytes` (see enum net_coll) over a group of
 * n >= 1 members `stride` >= 1 apart on d; 0 when n = 1 or bytes = 0. */
double net_time_s(const struct device *d, enum net_coll c, double bytes, double n,
                  double stride);

/* Network time of a collective op (OP_ALLREDUCE, OP_ALLGATHER, OP_ALLTOALL)
 * from its shape and group; 0 for other kinds. */
double net_op_time_s(const struct op *op, const struct device *d);

#endif
