/* ffn_moe.h - the MoE block's public helpers, for tests and other blocks:
 * the routing arithmetic (moe_route.h: expected touched experts, inclusion
 * probabilities) and the per-step routing plan (moe_plan.h). The block kind
 * itself (ffn_moe.c) is reached through the registry (model.h). Formulas:
 * docs/moe.md. */
#ifndef OB_FFN_MOE_H
#define OB_FFN_MOE_H

#include "moe_plan.h"
#include "moe_route.h"

#endif
