/* ffn_moe.h - routing helpers of the MoE block (ffn_moe.c), public for tests
 * and for later routing models. */
#ifndef OB_FFN_MOE_H
#define OB_FFN_MOE_H

/* Expected number of distinct experts that `tokens` tokens touch when each
 * picks k of E experts uniformly: E * (1 - (1 - k/E)^T). */
double moe_experts_touched(double experts, double k, double tokens);

#endif
