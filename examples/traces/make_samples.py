#!/usr/bin/env python3
"""examples/traces/make_samples.py - writes the bundled sample traces.

The samples are SYNTHETIC: made here from a fixed seed, not taken from the
public traces. They only follow those traces' column layouts, so that
`opbound serve` can be tried on each layout without downloading anything:

  azure-conv-sample.csv    Azure LLM inference trace layout
                           (TIMESTAMP,ContextTokens,GeneratedTokens; a date and
                           time per row, as github.com/Azure/AzurePublicDataset
                           publishes AzureLLMInferenceTrace_conv.csv)
  burstgpt-sample.csv      BurstGPT layout (Timestamp,Model,Request tokens,
                           Response tokens,Total tokens,Log Type; seconds; some
                           failed requests with 0 response tokens, as in
                           BurstGPT_1.csv from github.com/HPMLL/BurstGPT)
  chat-sessions.csv        opbound layout with sessions and a shared system
                           prompt (arrival_s,input_tokens,output_tokens,session,
                           prefix,prefix_tokens): multi-turn chats whose turn k
                           prompt is the session's history plus a new message

Run: python3 examples/traces/make_samples.py (rewrites the three files).
"""
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def lognormal_int(rng, mean, cv):
    s2 = math.log(1 + cv * cv)
    return max(1, round(math.exp(math.log(mean) - s2 / 2 + math.sqrt(s2) * rng.gauss(0, 1))))


def azure(rng):
    rows = ['TIMESTAMP,ContextTokens,GeneratedTokens']
    t = 0.0
    for i in range(200):
        if i:
            t += rng.expovariate(4.0)  # 4 requests/s
        sec = 46 + t
        mins, sec = divmod(sec, 60)
        ns = round(sec * 1e7)  # 7 fraction digits, as the Azure files
        s_int, frac = divmod(ns, 10 ** 7)
        rows.append('2023-11-16 18:%02d:%02d.%07d,%d,%d' % (15 + int(mins), s_int, frac,
                                                              lognormal_int(rng, 1000, 1.0),
                                                              lognormal_int(rng, 200, 0.8)))
    return rows


def burstgpt(rng):
    rows = ['Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type']
    t = 5.0
    for i in range(200):
        # bursty: gamma gaps of CV 3 (shape 1/9), mean 0.5 s
        t += rng.gammavariate(1 / 9, 0.5 * 9)
        model = 'ChatGPT' if rng.random() < 0.8 else 'GPT-4'
        req = lognormal_int(rng, 600, 1.2)
        resp = 0 if rng.random() < 0.03 else lognormal_int(rng, 130, 1.0)
        log = 'Conversation log' if rng.random() < 0.7 else 'API log'
        rows.append('%.0f,%s,%d,%d,%d,%s' % (t, model, req, resp, req + resp, log))
    return rows


def chat(rng):
    rows = ['arrival_s,input_tokens,output_tokens,session,prefix,prefix_tokens']
    system = 512  # one shared system prompt
    events = []
    for s in range(12):
        t = rng.uniform(0, 20)
        history = system
        for turn in range(4):
            msg = lognormal_int(rng, 120, 0.8)
            out = lognormal_int(rng, 150, 0.6)
            events.append((t, history + msg, out, 'chat-%02d' % s))
            history += msg + out
            t += rng.uniform(15, 40)  # the user reads and types
    for t, inp, out, sess in sorted(events):
        rows.append('%.3f,%d,%d,%s,system-v1,%d' % (t, inp, out, sess, system))
    return rows


def main():
    for name, fn, seed in (('azure-conv-sample.csv', azure, 1), ('burstgpt-sample.csv', burstgpt, 2),
                           ('chat-sessions.csv', chat, 3)):
        rng = random.Random(seed)
        with open(os.path.join(HERE, name), 'w') as f:
            f.write('\n'.join(fn(rng)) + '\n')


if __name__ == '__main__':
    main()
