/* net.c - collective times on a two-tier network; see net.h and
 * docs/network.md (formulas and sources). */
#include "net.h"

#include <math.h>

void net_layout(const struct device *d, double n, double stride, struct net_span *out)
{
    if (!d->has_network || n <= 1) {
        *out = (struct net_span){.g = n > 1 ? n : 1, .k = 1, .crosses = false};
        return;
    }
    const double per = floor(d->gpus_per_node / stride); /* members one node can hold */
    const double g = per < 1 ? 1 : (per < n ? per : n);
    const double k = ceil(n / g);
    *out = (struct net_span){.g = g, .k = k, .crosses = k > 1};
}

/* Ring in one tier (Thakur, Rabenseifner and Gropp 2005; NCCL's bus
 * bandwidth convention): all-reduce 2(n-1)/n S/B + 2(n-1) alpha, all-gather
 * (n-1)/n S/B + (n-1) alpha. Hierarchical (Jia et al. 2018, "Highly
 * scalable deep learning training system with mixed-precision", hierarchical
 * all-reduce): inside the node over g members, across the k nodes each member
 * on its own NIC with the shard S/g. */
double net_time_s(const struct device *d, enum net_coll c, double bytes, double n,
                  double stride)
{
    if (n <= 1 || bytes <= 0) return 0;
    if (!d->has_network) {
        switch (c) {
        case NET_ALLREDUCE: return 2.0 * (n - 1.0) / n * bytes * d->inv_net_rate;
        case NET_ALLGATHER: return (n - 1.0) / n * bytes * d->inv_net_rate;
        case NET_ALLTOALL:
        case NET_P2P: return bytes * d->inv_net_rate;
        case NET_COLL_COUNT: break;
        }
        return 0;
    }
    struct net_span sp;
    net_layout(d, n, stride, &sp);
    const double g = sp.g, k = sp.k, ai = d->intra_latency_s, ax = d->inter_latency_s;
    const double bi = d->inv_net_rate, bx = d->inv_inter_rate;
    switch (c) {
    case NET_ALLREDUCE: /* reduce-scatter + all-gather in the node, all-reduce of S/g across */
        return 2.0 * (g - 1.0) / g * bytes * bi + 2.0 * (g - 1.0) * ai +
               2.0 * (k - 1.0) / k * (bytes / g) * bx + 2.0 * (k - 1.0) * ax;
    case NET_ALLGATHER: /* across nodes among equal local ranks, then inside the node */
        return (k - 1.0) / k * (bytes / g) * bx + (k - 1.0) * ax +
               (g - 1.0) / g * bytes * bi + (g - 1.0) * ai;
    case NET_ALLTOALL: {
        /* of the n-1 peers, g-1 share the node and n-g do not; the two links
         * carry their parts at once (DeepSeek-V3 report sec. 3.2) */
        const double in = bytes * (g - 1.0) / (n - 1.0), out = bytes * (n - g) / (n - 1.0);
        const double ti = in > 0 ? in * bi + ai : 0, tx = out > 0 ? out * bx + ax : 0;
        return ti > tx ? ti : tx;
    }
    case NET_P2P: return sp.crosses ? bytes * bx + ax : bytes * bi + ai;
    case NET_COLL_COUNT: break;
    }
    return 0;
}

double net_op_time_s(const struct op *op, const struct device *d)
{
    const double ab = dtype_bytes(op->dt_act);
    switch (op->kind) {
    case OP_ALLREDUCE:
        return net_time_s(d, NET_ALLREDUCE, op->shape.allreduce.rows * op->shape.allreduce.cols * ab,
                          op->shape.allreduce.devices, op->shape.allreduce.stride);
    case OP_ALLGATHER:
        return net_time_s(d, NET_ALLGATHER, op->shape.allreduce.rows * op->shape.allreduce.cols * ab,
                          op->shape.allreduce.devices, op->shape.allreduce.stride);
    case OP_ALLTOALL:
        return net_time_s(d, NET_ALLTOALL, op->cost.bytes_net, op->shape.alltoall.devices,
                          op->shape.alltoall.stride);
    case OP_GEMM:
    case OP_BATCHED_GEMM:
    case OP_ATTENTION:
    case OP_ELEMENTWISE:
    case OP_NORM:
    case OP_SOFTMAX:
    case OP_ROUTER:
    case OP_GATHER:
    case OP_SCAN:
    case OP_COUNT: break;
    }
    return 0;
}
