#!/usr/bin/env python3
"""examples/traces/trace_slice.py - cuts a slice of a large public trace into
a file `opbound serve --trace` replays quickly (Python 3 standard library only).

opbound reads the Azure LLM inference traces and BurstGPT as published, so no
conversion is needed for the layout; what the big files need is a smaller
slice (serve takes at most 10^6 requests, and a week of traffic is far more):

  python3 examples/traces/trace_slice.py AzureLLMInferenceTrace_conv.csv \\
      --start 600 --duration 300 -o azure-5min.csv
  python3 examples/traces/trace_slice.py BurstGPT_without_fails_2.csv \\
      --model ChatGPT --log-type "Conversation log" --rows 20000 -o burst.csv

It detects the layout from the header, keeps rows whose arrival (seconds after
the file's first row) lies in [start, start + duration) and, for BurstGPT,
whose Model / Log Type match, drops rows with 0 prompt or 0 output tokens (the
failed requests), stops after --rows rows, and writes the opbound layout
arrival_s,input_tokens,output_tokens[,session] with arrivals from the slice's
first row. --scale multiplies the times (0.5 = twice the request rate).
"""
import argparse
import csv
import datetime
import sys


def seconds(layout, row):
    if layout == 'azure':
        ts = row['TIMESTAMP'].replace('T', ' ').rstrip('Z').split('+')[0]
        day, _, frac = ts.partition('.')
        t = datetime.datetime.strptime(day, '%Y-%m-%d %H:%M:%S').replace(tzinfo=datetime.timezone.utc)
        return t.timestamp() + (float('0.' + frac) if frac else 0.0)
    return float(row['Timestamp'])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('trace')
    ap.add_argument('-o', '--output', required=True)
    ap.add_argument('--start', type=float, default=0.0, help='seconds after the first row')
    ap.add_argument('--duration', type=float, default=float('inf'), help='seconds')
    ap.add_argument('--rows', type=int, default=1000000, help='most rows written')
    ap.add_argument('--scale', type=float, default=1.0, help='multiply the times')
    ap.add_argument('--model', help='BurstGPT: keep this Model only')
    ap.add_argument('--log-type', help='BurstGPT: keep this Log Type only')
    a = ap.parse_args()
    with open(a.trace, newline='', encoding='utf-8-sig') as f:
        rd = csv.DictReader(f)
        cols = rd.fieldnames or []
        if 'TIMESTAMP' in cols:
            layout, inp, out, sess = 'azure', 'ContextTokens', 'GeneratedTokens', None
        elif 'Request tokens' in cols:
            layout, inp, out = 'burstgpt', 'Request tokens', 'Response tokens'
            sess = 'Session ID' if 'Session ID' in cols else None
        else:
            sys.exit('%s: not an Azure LLM inference or BurstGPT header: %s' % (a.trace, cols))
        t0 = first = None
        n = 0
        with open(a.output, 'w', newline='') as g:
            g.write('arrival_s,input_tokens,output_tokens' + (',session' if sess else '') + '\n')
            for row in rd:
                t = seconds(layout, row)
                t0 = t if t0 is None else t0
                if not (a.start <= t - t0 < a.start + a.duration):
                    continue
                if a.model and row.get('Model') != a.model:
                    continue
                if a.log_type and row.get('Log Type') != a.log_type:
                    continue
                if int(row[inp]) == 0 or int(row[out]) == 0:
                    continue
                first = t if first is None else first
                g.write('%.9f,%s,%s%s\n' % ((t - first) * a.scale, row[inp], row[out],
                                            (',' + row[sess]) if sess else ''))
                n += 1
                if n == a.rows:
                    break
    print('%s: %d requests' % (a.output, n))


if __name__ == '__main__':
    main()
