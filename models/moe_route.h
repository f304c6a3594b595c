/* moe_route.h - routing arithmetic of the MoE block (moe_route.c): per-expert
 * inclusion probabilities, expected touched experts, expected tokens dropped
 * over a capacity, and load buckets. Pure functions, no allocation; formulas
 * and sources in docs/moe.md. */
#ifndef OB_MOE_ROUTE_H
#define OB_MOE_ROUTE_H

/* Inclusion probabilities of a fixed-size-k design proportional to weights:
 * p_i = min(1, c * w_i) with c chosen so that sum p_i = k (experts whose
 * share would exceed one token-pick are capped at 1 and the rest rescaled).
 * Returns 0, or -1 when fewer than ceil(k) weights are positive. */
int moe_inclusion(const double *w, int n, double k, double *p);

/* Expected distinct experts touched by T independent tokens, expert i being
 * picked by one token with probability p_i: sum_i 1 - (1 - p_i)^T. */
double moe_touched_p(const double *p, int n, double tokens);

/* E[(X - c)^+] for X ~ Binomial(n, p): expected tokens above a capacity c of
 * one expert whose load is X. Summed over the binomial mass within 40
 * standard deviations of the mean (the rest is below 1e-300). */
double moe_binom_excess(double n, double p, double c);

/* Expected number of distinct experts that `tokens` tokens touch when each
 * picks k of E experts uniformly: E * (1 - (1 - k/E)^T). */
double moe_experts_touched(double experts, double k, double tokens);

#endif
