#!/usr/bin/env python3
"""tests/malformed/gen.py - writes the malformed-input corpus: one file per
case under tests/malformed/{model,device,study,serve,config,csv}/ and the
manifest tests/malformed/cases.txt that run.sh reads.

Every expectation is written here by hand, from reading the case: `at` names
the text the user must be pointed at (its first occurrence in the case file,
plus an offset in characters), and `want` a phrase the message must hold.
Line and column are then counted from the case text itself (1-based, columns
in characters), never taken from opbound's output. Run it after editing a
case: python3 tests/malformed/gen.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = []  # (id, command, expected prefix, phrase)


def pos(text, marker, off=0, nth=1):
    """1-based line:col of the nth occurrence of marker in text, plus off chars."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', errors='surrogateescape')
    i = -1
    for _ in range(nth):
        i = text.index(marker, i + 1)
    i += off
    line = text.count('\n', 0, i) + 1
    start = text.rfind('\n', 0, i) + 1
    return line, i - start + 1


def case(kind, name, text, cmd, at, want, ext=None):
    """at: (marker, offset[, nth]) or (line, col) as ints."""
    ext = ext or {'config': 'json', 'csv': 'csv'}.get(kind, 'yaml')
    rel = '%s/%s.%s' % (kind, name, ext)
    path = os.path.join(HERE, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = text if isinstance(text, bytes) else text.encode()
    with open(path, 'wb') as f:
        f.write(data)
    if isinstance(at[0], int):
        line, col = at
    else:
        line, col = pos(data, at[0], at[1] if len(at) > 1 else 0, at[2] if len(at) > 2 else 1)
    CASES.append((rel, cmd, '{}:%d:%d: ' % (line, col), want))


def cli(name, cmd, prefix, want):
    CASES.append(('cli/' + name, cmd, prefix, want))


def variant(base, old, new, nth=1):
    i = -1
    for _ in range(nth):
        i = base.index(old, i + 1)
    return base[:i] + new + base[i + len(old):]


# ---------------------------------------------------------------- model YAML
MODEL = """# a small dense model for the malformed-input corpus
name: m
hidden: 4096
layers: 32
vocab: 128256
tied_embeddings: false
norm: rmsnorm
dtypes: {weight: bf16, activation: bf16, kv: bf16}
groups:
  - repeat: 32
    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}
    ffn: {kind: swiglu, intermediate: 14336}
"""
AN = 'analyze {} --hw h100 --phase decode --context 8'
M = lambda name, text, at, want: case('model', name, text, AN, at, want)

M('unknown-key', variant(MODEL, 'hidden: 4096', 'hiden: 4096'), ('hiden',), "unknown key 'hiden'")
M('hidden-negative', variant(MODEL, 'hidden: 4096', 'hidden: -1'), ('-1',), "'hidden' must be at least")
M('hidden-fraction', variant(MODEL, 'hidden: 4096', 'hidden: 4096.5'), ('4096.5',), "'hidden' must be an integer")
M('hidden-quoted', variant(MODEL, 'hidden: 4096', 'hidden: "4096"'), ('"4096"',), "quoted")
M('hidden-list', variant(MODEL, 'hidden: 4096', 'hidden: [4096]'), ('[4096]',), "single value")
M('hidden-map', variant(MODEL, 'hidden: 4096', 'hidden: {a: 1}'), ('{a: 1}',), "single value")
M('hidden-huge', variant(MODEL, 'hidden: 4096', 'hidden: 99999999999999999999'), ('9999',), "64-bit")
M('hidden-inf', variant(MODEL, 'hidden: 4096', 'hidden: .inf'), ('.inf',), "'hidden' must be an integer")
M('hidden-empty', variant(MODEL, 'hidden: 4096', 'hidden:'), ('hidden:', 7), "'hidden'")
M('hidden-hex', variant(MODEL, 'hidden: 4096', 'hidden: 0x1000'), ('0x1000',), "'hidden' must be an integer")
M('vocab-missing', variant(MODEL, 'vocab: 128256\n', ''), ('name: m',), "missing required key 'vocab'")
M('duplicate-hidden', variant(MODEL, 'layers: 32', 'hidden: 2048\nlayers: 32'), ('hidden', 0, 2), "duplicate key 'hidden'")
M('tied-yes', variant(MODEL, 'tied_embeddings: false', 'tied_embeddings: yes'), ('yes',), "true or false")
M('norm-unknown', variant(MODEL, 'norm: rmsnorm', 'norm: batchnorm'), ('batchnorm',), "unknown value 'batchnorm'")
M('name-empty', variant(MODEL, 'name: m', 'name: ""'), ('""',), "must not be empty")
M('name-too-long', variant(MODEL, 'name: m', 'name: ' + 'x' * 80), ('xxxx',), "too long")
M('dtype-unknown', variant(MODEL, 'weight: bf16', 'weight: bf17'), ('bf17',), "unknown dtype 'bf17'")
M('dtypes-unknown-key', variant(MODEL, 'weight: bf16', 'wieght: bf16'), ('wieght',), "unknown key 'wieght'")
M('dtypes-scalar', variant(MODEL, 'dtypes: {weight: bf16, activation: bf16, kv: bf16}', 'dtypes: bf16'), ('bf16',), "mapping")
M('groups-map', variant(MODEL, 'groups:\n  - repeat', 'groups: {}\nxgroups:\n  - repeat'), ('{}',), "'groups' must be a list")
M('groups-scalar', MODEL.split('groups:')[0] + 'groups: 3\n', ('groups: 3', 8), "'groups' must be a list")
M('repeat-zero', variant(MODEL, 'repeat: 32', 'repeat: 0'), ('repeat: 0', 8), "'repeat' must be at least 1")
M('repeat-negative', variant(MODEL, 'repeat: 32', 'repeat: -3'), ('-3',), "'repeat' must be at least 1")
M('attn-kind-unknown', variant(MODEL, 'kind: gqa', 'kind: gqx'), ('gqx',), "gqx")
M('attn-kind-missing', variant(MODEL, 'kind: gqa, ', ''), ('{heads',), "kind")
M('heads-zero', variant(MODEL, 'heads: 32', 'heads: 0'), ('heads: 0', 7), "'heads' must be at least 1")
M('heads-string', variant(MODEL, 'heads: 32', 'heads: many'), ('many',), "'heads' must be an integer")
M('head-dim-missing', variant(MODEL, ', head_dim: 128', ''), ('{kind: gqa',), "missing required key 'head_dim'")
M('attn-unknown-key', variant(MODEL, 'head_dim: 128', 'head_dim: 128, heads_dim: 4'), ('heads_dim',), "unknown key 'heads_dim'")
M('attn-duplicate-key', variant(MODEL, 'head_dim: 128', 'head_dim: 128, heads: 16'), ('heads', 0, 3), "duplicate key 'heads'")
M('ffn-kind-unknown', variant(MODEL, 'kind: swiglu', 'kind: swiglo'), ('swiglo',), "swiglo")
M('intermediate-negative', variant(MODEL, 'intermediate: 14336', 'intermediate: -5'), ('-5',), "'intermediate' must be at least")
M('ffn-in-attention-slot', variant(MODEL, '{kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}', '{kind: swiglu, intermediate: 128}'), ('swiglu',), "swiglu")
M('attention-list', variant(MODEL, '{kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}', '[gqa]'), ('[gqa]',), "mapping")
M('top-scalar', 'hello\n', (1, 1), "mapping")
M('top-list', '- name: m\n- hidden: 4\n', (1, 1), "mapping")
M('tab-indent', variant(MODEL, '  - repeat: 32', '\t- repeat: 32'), ('\t',), "YAML syntax error")
M('two-colons', variant(MODEL, 'name: m', 'name: m: n'), ('m: n', 1), "YAML syntax error")
M('unclosed-quote', variant(MODEL, 'name: m', 'name: "m'), ('"m', 0), "quoted scalar")
M('bad-utf8', variant(MODEL, 'name: m', 'name: caf\xe9').encode('latin-1'), ('caf', 3), "UTF-8")
M('bad-utf8-late', (variant(MODEL, 'ffn: {kind: swiglu', 'ffn: {kind: swiglu\xff') ).encode('latin-1'), ('swiglu', 6, 1), "UTF-8")
M('control-char', variant(MODEL, 'name: m', 'name: m\x07x'), ('\x07',), "control characters")
M('nul-byte', variant(MODEL, 'norm: rmsnorm', 'norm: rms\x00norm'), ('\x00',), "control characters")
M('second-document', MODEL + '---\nname: n\n', ('name: n',), "second YAML document")
M('text-after-end', MODEL + '...\nhidden: 1\n', ('hidden: 1',), "after the end of the document")
M('deep-flow', MODEL.replace('groups:', 'xtra: ' + '[' * 100 + ']' * 100 + '\ngroups:'), ('[', 64), "nesting deeper than 64")
M('undefined-alias', variant(MODEL, 'hidden: 4096', 'hidden: *h'), ('*h',), "alias")
M('merge-key', variant(MODEL, 'hidden: 4096', '<<: {hidden: 4096}'), ('<<',), "unknown key '<<'")
M('complex-key', variant(MODEL, 'hidden: 4096', '? [a, b]\n: 4096\nhidden: 4096'), ('[a, b]',), "plain names")
M('heads-over-max', variant(MODEL, 'heads: 32', 'heads: 1000000000'), ('1000000000',), "'heads' must be at most")
M('kv-heads-not-dividing', variant(MODEL, 'kv_heads: 8', 'kv_heads: 7'), ('kv_heads: 7', 10), "kv_heads")
M('empty-file', '', (1, 1), "empty document")
M('only-comments', '# nothing here\n# at all\n', (1, 1), "empty document")
M('layers-mismatch', variant(MODEL, 'layers: 32', 'layers: 30'), ('30',), "30")
# quantised KV (kv_quant, docs/kv-budgets.md)
QM = variant(MODEL, '    ffn: {kind: swiglu, intermediate: 14336}\n', '    ffn: {kind: swiglu, intermediate: 14336}\n    kv_quant: {bits: 2, group: 32, residual: 128}\n')
M('kv-quant-residual', variant(QM, 'residual: 128', 'residual: 100'), ('100',), "multiple of group")
M('kv-quant-bits', variant(QM, 'bits: 2', 'bits: 9'), ('9,',), "'bits' must be at most 8")
M('kv-quant-group', variant(QM, 'group: 32, residual: 128', 'group: 48, residual: 96'), ('48',), "must divide the 1024 value elements")
M('kv-quant-missing', variant(QM, ', residual: 128', ''), ('{bits',), "residual")
M('attn-share-missing-layer', variant(MODEL, 'head_dim: 128}', 'head_dim: 128, attn_share: 3}'), ('3}',), "attn_share 3 does not divide the group's 32 layers")
M('mask-on-mamba', variant(MODEL, "attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}", "attention: {kind: mamba2, d_state: 128, expand: 2, head_dim: 64, heads: 128, n_groups: 1, d_conv: 4, chunk_size: 256, mask: [causal]}"), ('[causal]',), "does not take a mask")
M('mask-unknown-part', variant(MODEL, 'head_dim: 128}', 'head_dim: 128, mask: [causal, {windw: 64}]}'), ('windw',), "windw")
M('mask-with-budget', variant(MODEL, 'head_dim: 128}\n    ffn: {kind: swiglu, intermediate: 14336}\n', 'head_dim: 128, mask: [causal]}\n    ffn: {kind: swiglu, intermediate: 14336}\n    kv_budget: {method: h2o, tokens: 64}\n'), ('{method',), "kv_budget with a mask")
M('kv-quant-unknown', variant(QM, 'bits: 2', 'bits: 2, sym: true'), ('sym',), "unknown key 'sym'")

M('group-kv-dtype-unknown', variant(MODEL, '  - repeat: 32\n', '  - repeat: 32\n    kv_dtype: fp9\n'), ('fp9',), "unknown dtype 'fp9'")
M('dtypes-gemm-unknown', variant(MODEL, 'kv: bf16}', 'kv: bf16, gemm: fp9}'), ('fp9',), "unknown dtype 'fp9'")

# ---------------------------------------------------------------- device YAML
DEV = """# a trimmed H100 for the malformed-input corpus
name: D
vendor: NVIDIA
memory:
  capacity_bytes: 85899345920
  bandwidth_bytes_per_s: 3.35e12
l2_bytes: 52428800
sm_count: 132
clock_hz: 1.98e9
kernel_overhead_s: 4.0e-6
interconnect_bytes_per_s: 450e9
tensor_flops_per_s:
  fp32: 66.9e12
  bf16: 989.4e12
  fp8: 1978.9e12
vector_flops_per_s:
  fp32: 66.9e12
  bf16: 133.8e12
efficiency:
  tensor: 1.0
  vector: 1.0
  memory: 1.0
"""
AD = 'analyze llama-3-8b --hw {} --phase decode --context 8'
D = lambda name, text, at, want: case('device', name, text, AD, at, want)

D('bw-zero', variant(DEV, '3.35e12', '0'), ('bandwidth_bytes_per_s: 0', 23), "bandwidth_bytes_per_s")
D('bw-negative', variant(DEV, '3.35e12', '-3.35e12'), ('-3.35e12',), "must be at least")
D('bw-word', variant(DEV, '3.35e12', 'fast'), ('fast',), "must be a number")
D('bw-nan', variant(DEV, '3.35e12', '.nan'), ('.nan',), "number")
D('bw-inf', variant(DEV, '3.35e12', '1e400'), ('1e400',), "out of range")
D('bw-hex', variant(DEV, '3.35e12', '0x10'), ('0x10',), "decimal")
D('bw-quoted', variant(DEV, '3.35e12', '"3.35e12"'), ('"3.35e12"',), "quoted")
D('unknown-key', variant(DEV, 'sm_count: 132', 'sm_cnt: 132'), ('sm_cnt',), "unknown key 'sm_cnt'")
D('sm-count-missing', variant(DEV, 'sm_count: 132\n', ''), ('name: D',), "missing required key 'sm_count'")
D('memory-scalar', variant(DEV, 'memory:\n  capacity_bytes: 85899345920\n  bandwidth_bytes_per_s: 3.35e12', 'memory: 80'), ('80',), "mapping")
D('memory-missing-bw', variant(DEV, '  bandwidth_bytes_per_s: 3.35e12\n', ''), ('capacity_bytes',), "missing required key 'bandwidth_bytes_per_s'")
D('tensor-bad-dtype', variant(DEV, '  fp8: 1978.9e12', '  fp12: 1978.9e12'), ('fp12',), "fp12")
D('tensor-negative', variant(DEV, '989.4e12', '-1'), ('-1',), "at least")
D('efficiency-over-one', variant(DEV, 'tensor: 1.0', 'tensor: 1.5'), ('1.5',), "at most 1")
D('efficiency-zero', variant(DEV, 'memory: 1.0', 'memory: 0'), ('memory: 0', 8, 1), "memory")
D('overhead-negative', variant(DEV, 'kernel_overhead_s: 4.0e-6', 'kernel_overhead_s: -4.0e-6'), ('-4.0e-6',), "at least")
D('clock-list', variant(DEV, 'clock_hz: 1.98e9', 'clock_hz: [1.98e9]'), ('[1.98e9]',), "single value")
D('duplicate-key', variant(DEV, 'sm_count: 132', 'sm_count: 132\nsm_count: 144'), ('sm_count', 0, 2), "duplicate key 'sm_count'")
D('name-empty', variant(DEV, 'name: D', 'name: ""'), ('""',), "must not be empty")
D('bad-utf8', variant(DEV, 'name: D', 'name: D\xc3(').encode('latin-1'), ('name: D', 7), "UTF-8")
D('second-document', DEV + '---\nname: E\n', ('name: E',), "second YAML document")
D('tab', variant(DEV, '  tensor: 1.0', '\ttensor: 1.0'), ('\ttensor', 0), "YAML syntax error")
D('top-list', '- a\n- b\n', (1, 1), "mapping")
D('empty-file', '', (1, 1), "empty document")
PIM = DEV + """pim:
  kind: logic
  stacks: 5
  bandwidth_multiplier: 8
  macs_per_stack: 4096
  clock_hz: 1e9
  baseline: h999
"""
D('pim-baseline-unknown', PIM, ('h999',), "unknown device 'h999'")
D('pim-unknown-key', variant(PIM, 'baseline: h999', 'baseline: h100-sxm5-80gb\n  bogus: 1'), ('bogus',), "unknown key 'bogus'")

NET = DEV + """network:
  gpus_per_node: 8
  intra_latency_s: 0.47e-6
  inter_bytes_per_s: 50e9
  inter_latency_s: 2.7e-6
"""
D('network-inter-faster', variant(NET, 'inter_bytes_per_s: 50e9', 'inter_bytes_per_s: 900e9'), ('900e9',), "cannot be faster")
D('network-gpus-fraction', variant(NET, 'gpus_per_node: 8', 'gpus_per_node: 7.5'), ('7.5',), "whole number")
D('network-missing-inter', variant(NET, '  inter_bytes_per_s: 50e9\n', ''), ('gpus_per_node',), "missing required key 'inter_bytes_per_s'")
D('network-latency-negative', variant(NET, '2.7e-6', '-1e-6'), ('-1e-6',), "at least")
D('network-unknown-key', variant(NET, 'inter_latency_s', 'nic_latency_s'), ('nic_latency_s',), "unknown key 'nic_latency_s'")

# ---------------------------------------------------------------- study YAML
STUDY = """# a study for the malformed-input corpus
name: s
skeleton: llama-3-8b
hw: [h100-sxm5-80gb]
scenarios:
  - {phase: decode, batch: 32, context: 8192}
designs:
  - name: GQA-8
    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}
  - name: MQA
    attention: {kind: mqa, heads: 32, head_dim: 128}
"""
CO = 'compare {}'
RP = 'report {} -o out'
S = lambda name, text, at, want, cmd=CO: case('study', name, text, cmd, at, want)

S('unknown-key', variant(STUDY, 'skeleton:', 'skeletn:'), ('skeletn',), "unknown key 'skeletn'")
S('skeleton-unknown', variant(STUDY, 'skeleton: llama-3-8b', 'skeleton: llama-99'), ('llama-99',), "llama-99")
S('hw-unknown', variant(STUDY, '[h100-sxm5-80gb]', '[h100-sxm5-80gb, h999]'), ('h999',), "h999")
S('hw-scalar-unknown', variant(STUDY, '[h100-sxm5-80gb]', 'h999'), ('h999',), "'hw' must be a list")
S('phase-bad', variant(STUDY, 'phase: decode', 'phase: decoding'), ('decoding',), "decoding")
S('batch-zero', variant(STUDY, 'batch: 32', 'batch: 0'), ('batch: 0', 7), "batch")
S('context-negative', variant(STUDY, 'context: 8192', 'context: -1'), ('-1',), "context")
S('scenarios-scalar', variant(STUDY, 'scenarios:\n  - {phase: decode, batch: 32, context: 8192}', 'scenarios: decode'), ('decode',), "list")
S('designs-empty', variant(STUDY, """designs:
  - name: GQA-8
    attention: {kind: gqa, heads: 32, kv_heads: 8, head_dim: 128}
  - name: MQA
    attention: {kind: mqa, heads: 32, head_dim: 128}
""", 'designs: []\n'), ('[]',), "design")
S('design-no-name', variant(STUDY, '  - name: MQA\n    attention', '  - attention'), ('attention: {kind: mqa', 0), "missing required key 'name'")
S('design-attn-kind', variant(STUDY, 'kind: mqa', 'kind: mqx'), ('mqx',), "mqx")
S('design-heads-zero', variant(STUDY, 'kind: mqa, heads: 32', 'kind: mqa, heads: 0'), ('heads: 0', 7), "heads")
S('design-unknown-key', variant(STUDY, '  - name: MQA', '  - name: MQA\n    atention: {kind: mqa}'), ('atention',), "unknown key 'atention'")
S('duplicate-key', variant(STUDY, 'name: s', 'name: s\nname: t'), ('name: t',), "duplicate key 'name'")
S('bad-utf8', variant(STUDY, 'name: s', 'name: s\xff').encode('latin-1'), ('name: s', 7), "UTF-8")
S('second-document', STUDY + '---\nname: x\n', ('name: x',), "second YAML document")
S('scenario-unknown-key', variant(STUDY, 'batch: 32', 'btch: 32'), ('btch',), "unknown key 'btch'")
S('design-kv-quant-residual', variant(STUDY, '  - name: MQA\n', '  - name: MQA\n    kv_quant: {bits: 2, group: 32, residual: 40}\n'), ('40}',), "multiple of group")
S('report-hw-unknown', variant(STUDY, '[h100-sxm5-80gb]', '[h999]'), ('h999',), "h999", RP)
S('report-phase-bad', variant(STUDY, 'phase: decode', 'phase: both'), ('both',), "both", RP)
S('report-bad-utf8', variant(STUDY, 'name: s', 'name: \xfes').encode('latin-1'), ('name: ', 6), "UTF-8", RP)

# ---------------------------------------------------------------- serve YAML
SERVE = """# a serving scenario for the malformed-input corpus
name: s
model: llama-3-8b
requests: 30
lengths:
  - {input: 512, output: 128}
  - {input: 2048, output: 64}
max_batch: 8
token_budget: 1024
"""
SV = 'serve {} --hw h100'
V = lambda name, text, at, want: case('serve', name, text, SV, at, want)

V('requests-zero', variant(SERVE, 'requests: 30', 'requests: 0'), ('requests: 0', 10), "requests")
V('requests-negative', variant(SERVE, 'requests: 30', 'requests: -30'), ('-30',), "requests")
V('requests-fraction', variant(SERVE, 'requests: 30', 'requests: 30.5'), ('30.5',), "integer")
V('unknown-key', variant(SERVE, 'max_batch: 8', 'max_bach: 8'), ('max_bach',), "unknown key 'max_bach'")
V('model-unknown', variant(SERVE, 'model: llama-3-8b', 'model: llama-99'), ('llama-99',), "llama-99")
V('model-missing', variant(SERVE, 'model: llama-3-8b\n', ''), ('name: s',), "missing required key 'model'")
V('length-missing-output', variant(SERVE, '{input: 2048, output: 64}', '{input: 2048}'), ('{input: 2048}',), "output")
V('length-input-zero', variant(SERVE, 'input: 512', 'input: 0'), ('input: 0', 7), "input")
V('lengths-scalar', variant(SERVE, 'lengths:\n  - {input: 512, output: 128}\n  - {input: 2048, output: 64}', 'lengths: 512'), ('512',), "list")
V('max-batch-zero', variant(SERVE, 'max_batch: 8', 'max_batch: 0'), ('max_batch: 0', 11), "max_batch")
V('budget-zero', variant(SERVE, 'token_budget: 1024', 'token_budget: 0'), ('token_budget: 0', 14), "token_budget")
V('rate-negative', SERVE + 'arrival_rate_per_s: -1\n', ('-1',), "arrival_rate_per_s")
V('rate-word', SERVE + 'arrival_rate_per_s: often\n', ('often',), "number")
V('duplicate-key', SERVE + 'requests: 40\n', ('requests: 40',), "duplicate key 'requests'")
V('bad-utf8', variant(SERVE, 'name: s', 'name: s\xc0\xaf').encode('latin-1'), ('name: s', 7), "UTF-8")
V('control-char', variant(SERVE, 'name: s', 'name: s\x1b[0m'), ('\x1b',), "control characters")
V('second-document', SERVE + '---\nname: x\n', ('name: x',), "second YAML document")
V('tab', variant(SERVE, '  - {input: 512', '\t- {input: 512'), ('\t',), "YAML syntax error")
V('top-scalar', 'serve\n', (1, 1), "mapping")
V('empty-file', '\n', (1, 1), "empty document")
V('deep-flow', SERVE + 'x: ' + '{a: ' * 70 + '1' + '}' * 70 + '\n', ('{a: ', 0, 65), "nesting deeper than 64")
V('uniform-min-over-max', variant(SERVE, 'lengths:\n  - {input: 512, output: 128}\n  - {input: 2048, output: 64}', 'uniform: {input_min: 4096, input_max: 256, output_min: 64, output_max: 128}'), ('input_max: 256', 11), "input_max (256) is below input_min (4096)")

MIX = 'lengths:\n  - {input: 512, output: 128}\n  - {input: 2048, output: 64}'
V('lognormal-mixed', variant(SERVE, MIX, 'lognormal: {input: {mu: 6, mean: 500}, output: {mean: 100, cv: 1}}'), ('{mu: 6',), "give either {mu, sigma} or {mean, cv}")
V('lognormal-sigma-negative', variant(SERVE, MIX, 'lognormal: {input: {mu: 6, sigma: -1}, output: {mean: 100, cv: 1}}'), ('-1',), "'sigma' must be at least 0")
V('histogram-edges-down', variant(SERVE, MIX, 'histogram:\n  input: {edges: [1, 100, 50], weights: [1, 1]}\n  output: {edges: [1, 9], weights: [1]}'), ('50]',), "edges must increase")
V('histogram-weights-count', variant(SERVE, MIX, 'histogram:\n  input: {edges: [1, 100, 500], weights: [1]}\n  output: {edges: [1, 9], weights: [1]}'), ('[1]}\n  output',), "3 edges make 2 bins, but 1 weights")
V('histogram-weight-word', variant(SERVE, MIX, 'histogram:\n  input: {edges: [1, 100], weights: [lots]}\n  output: {edges: [1, 9], weights: [1]}'), ('lots',), "must be a number")
V('two-mixes', SERVE + 'lognormal: {input: {mu: 6, sigma: 1}, output: {mu: 4, sigma: 1}}\n', ('{input: {mu: 6',), "give one request mix")
V('arrival-cv-zero', SERVE + 'arrival_rate_per_s: 5\narrival_cv: 0\n', ('arrival_cv: 0', 12), "'arrival_cv' must be at least 0.01")
V('arrival-cv-alone', SERVE + 'arrival_cv: 2\n', ('arrival_cv: 2', 12), "'arrival_cv' needs 'arrival_rate_per_s' or 'arrival_curve'")
V('curve-rates-zero', SERVE + 'arrival_curve: {period_s: 86400, rates_per_s: [0, 0, 0]}\n', ('[0, 0, 0]',), "the rates are all zero")
V('curve-and-rate', SERVE + 'arrival_rate_per_s: 5\narrival_curve: {period_s: 60, rates_per_s: [1, 2]}\n', ('{period_s',), "not both")
V('curve-no-period', SERVE + 'arrival_curve: {rates_per_s: [1, 2]}\n', ('{rates',), "missing required key 'period_s'")
V('shared-prompt-zero', SERVE + 'shared_prompt: {tokens: 0}\n', ('0}',), "'tokens' must be at least 1")
V('chat-sessions-zero', SERVE + 'chat: {sessions: 0}\n', ('0}',), "'sessions' must be at least 1")
V('prefix-block-zero', SERVE + 'prefix_cache: {block_tokens: 0}\n', ('0}',), "'block_tokens' must be at least 1")
V('prefix-cache-window', variant(SERVE, 'model: llama-3-8b', 'model: ../../../examples/attn-swa.yaml') + 'prefix_cache: {block_tokens: 16}\n', ('{block',), "sliding-window or recurrent")
V('slo-empty', SERVE + 'slo: {}\n', ('{}',), "'slo' needs ttft_s, tpot_s or both")
V('slo-ttft-negative', SERVE + 'slo: {ttft_s: -0.1}\n', ('-0.1',), "'ttft_s' must be at least")
V('preemption-mode-unknown', SERVE + 'preemption: {mode: evict}\n', ('evict',), "evict")
V('preemption-swap-no-bw', SERVE + 'preemption: {mode: swap}\n', ('{mode',), "needs 'swap_bytes_per_s'")
V('preemption-bw-recompute', SERVE + 'preemption: {mode: recompute, swap_bytes_per_s: 64e9}\n', ('64e9',), "applies to mode: swap only")
V('preemption-with-cache', SERVE + 'prefix_cache: {}\npreemption: {mode: recompute}\n', ('{mode',), "not modelled")
V('priorities-zero', SERVE + 'priorities: [0, 0]\n', ('[0, 0]',), "the priority shares are all zero")
V('priorities-with-trace', variant(SERVE, MIX, 'trace: ../../../examples/traces/burstgpt-sample.csv').replace('requests: 30\n', '') + 'priorities: [1, 1]\n', ('[1, 1]',), "does not apply to a trace")
V('max-wait-zero', SERVE + 'max_wait_s: 0\n', ('max_wait_s: 0', 12), "'max_wait_s' must be at least")
V('time-scale-no-trace', SERVE + 'trace_time_scale: 2\n', ('trace_time_scale: 2', 18), "'trace_time_scale' needs a 'trace'")
V('trace-missing-file', variant(SERVE, MIX, 'trace: no-such-trace.csv').replace('requests: 30\n', ''), ('no-such',), "cannot open the trace")
V('trace-with-rate', variant(SERVE, MIX, 'trace: ../../../examples/traces/burstgpt-sample.csv').replace('requests: 30\n', '') + 'arrival_rate_per_s: 3\n', ('arrival_rate_per_s: 3', 20), "does not apply to a trace")
# fleet: replicas behind a router (sim/fleet.c)
FLEET = SERVE + 'fleet:\n  router: round_robin\n  replicas:\n    - {count: 2, tp: 1}\n'
PD = variant(FLEET, '    - {count: 2, tp: 1}\n', '    - {count: 1, tp: 1, role: prefill}\n    - {count: 1, tp: 1, role: decode}\n')
V('fleet-router-unknown', variant(FLEET, 'router: round_robin', 'router: random'), ('random',), "random")
V('fleet-router-missing', variant(FLEET, '  router: round_robin\n', ''), ('replicas:', 0), "missing required key 'router'")
V('fleet-no-replicas', variant(FLEET, 'replicas:\n    - {count: 2, tp: 1}', 'replicas: []'), ('[]',), "at least one")
V('fleet-tp-zero', variant(FLEET, 'tp: 1}', 'tp: 0}'), ('tp: 0', 4), "tp")
V('fleet-count-over', variant(FLEET, 'count: 2', 'count: 300'), ('300',), "count")
V('fleet-role-unknown', variant(FLEET, 'tp: 1}', 'tp: 1, role: verify}'), ('verify',), "verify")
V('fleet-only-prefill', variant(FLEET, 'tp: 1}', 'tp: 1, role: prefill}') + '  kv_link_bytes_per_s: 1e9\n  kv_link_latency_s: 0\n', ('- {count', 0), "role: decode")
V('fleet-pd-no-link', PD, ('router:', 0), "kv_link_bytes_per_s")
V('fleet-link-no-roles', FLEET + '  kv_link_bytes_per_s: 1e9\n', ('1e9',), "applies only")
V('fleet-link-zero', PD + '  kv_link_bytes_per_s: 0\n  kv_link_latency_s: 0\n', ('bytes_per_s: 0', 13), "kv_link_bytes_per_s")
V('fleet-and-afd', SERVE + 'afd: {attention_devices: 1, ffn_devices: 1}\n' + FLEET[len(SERVE):], ('router:', 0), "not both")
V('fleet-hw-unknown', variant(FLEET, 'tp: 1}', 'tp: 1, hw: h999}'), ('h999',), "h999")

# speculative decoding in serve
SPEC = SERVE + 'speculative: {draft: llama-3-8b, k: 4, accept: 0.7}\n'
V('spec-k-zero', variant(SPEC, 'k: 4', 'k: 0'), ('k: 0', 3), "'k'")
V('spec-accept-over', variant(SPEC, 'accept: 0.7', 'accept: 1.5'), ('1.5',), "accept")
V('spec-draft-unknown', variant(SPEC, 'draft: llama-3-8b', 'draft: llama-0b'), ('llama-0b',), "llama-0b")
V('spec-draft-missing', variant(SPEC, 'draft: llama-3-8b, ', ''), ('{k: 4', 0), "missing required key 'draft'")
V('spec-k-over-budget', variant(variant(SPEC, 'k: 4', 'k: 16'), 'token_budget: 1024', 'token_budget: 8'), ('k: 16', 3), "token budget")
V('spec-and-afd', SERVE + 'afd: {attention_devices: 1, ffn_devices: 1}\nspeculative: {draft: llama-3-8b, k: 4, accept: 0.7}\n', ('{draft', 0), "not both")

# ---------------------------------------------------------------- config.json
CFG = open(os.path.join(HERE, '..', 'data', 'hf', 'mistral-7b-v0.1.json')).read()
IM = 'import {} -o out.yaml'
C = lambda name, text, at, want, cmd=IM: case('config', name, text, cmd, at, want)

C('model-type-missing', variant(CFG, '  "model_type": "mistral",\n', ''), (1, 1), "model_type")
C('model-type-unknown', variant(CFG, '"mistral"', '"mistrel"'), ('"mistrel"',), "unknown model_type 'mistrel'")
C('model-type-number', variant(CFG, '"mistral"', '7'), ('"model_type": 7', 14), "model_type")
C('hidden-string', variant(CFG, '"hidden_size": 4096', '"hidden_size": "4096"'), ('"4096"',), "hidden_size")
C('hidden-negative', variant(CFG, '"hidden_size": 4096', '"hidden_size": -4096'), ('-4096',), "hidden_size")
C('hidden-fraction', variant(CFG, '"hidden_size": 4096', '"hidden_size": 4096.5'), ('4096.5',), "hidden_size")
C('hidden-null', variant(CFG, '"hidden_size": 4096', '"hidden_size": null'), ('null',), "hidden_size")
C('heads-zero', variant(CFG, '"num_attention_heads": 32', '"num_attention_heads": 0'), ('"num_attention_heads": 0', 23), "num_attention_heads")
C('kv-not-dividing', variant(CFG, '"num_key_value_heads": 8', '"num_key_value_heads": 7'), ('"num_key_value_heads": 7', 23), "num_key_value_heads")
C('layers-negative', variant(CFG, '"num_hidden_layers": 32', '"num_hidden_layers": -1'), ('-1',), "num_hidden_layers")
C('vocab-huge', variant(CFG, '"vocab_size": 32000', '"vocab_size": 100000000000'), ('100000000000',), "vocab_size")
C('window-huge', variant(variant(CFG, '"sliding_window": 4096', '"sliding_window": 100000000000'), '"max_position_embeddings": 32768', '"max_position_embeddings": 1000000000000'), ('"sliding_window": 100000000000', 18), "'sliding_window' must be at most")
C('duplicate-key', variant(CFG, '"vocab_size": 32000', '"vocab_size": 32000,\n  "hidden_size": 1024'), ('"hidden_size": 1024',), "duplicate key 'hidden_size'")
C('duplicate-nested', variant(CFG, '"vocab_size": 32000', '"vocab_size": 32000,\n  "rope_scaling": {"type": "linear", "type": "yarn"}'), ('"type"', 0, 2), "duplicate key 'type'")
C('second-object', CFG + '{"model_type": "llama"}\n', ('{"model_type": "llama"}',), "after the end of the top-level value")
C('text-after', CFG.rstrip('\n') + ' trailing\n', ('trailing',), "after the end of the top-level value")
C('top-array', '[' + CFG + ']\n', (1, 1), "JSON object")
C('top-string', '"config"\n', (1, 1), "JSON object")
C('empty-file', '', (1, 1), "empty document")
C('bad-utf8', variant(CFG, '"silu"', '"sil\xe9"').encode('latin-1'), ('"sil', 4), "UTF-8")
C('control-in-string', variant(CFG, '"silu"', '"si\x01lu"'), ('\x01',), "control characters")
C('unterminated-string', CFG.replace('"vocab_size": 32000\n}', '"vocab_size": 32000, "x": "abc\n}'), ('"abc', 0), "quoted scalar")
C('missing-comma', variant(CFG, '"bos_token_id": 1,', '"bos_token_id": 1'), ('"eos_token_id": 2', 14), "did not find expected ','")
C('deep-array', variant(CFG, '"vocab_size": 32000', '"vocab_size": 32000, "x": ' + '[' * 80 + ']' * 80), ('[', 63, 2), "nesting deeper than 64")
C('family-not-imported', variant(CFG, '"mistral"', '"nemotron_h"'), ('"nemotron_h"',), "not imported yet")
C('hidden-act-unknown', variant(CFG, '"silu"', '"relu2"'), ('"relu2"',), "relu2")
C('analyze-window-huge', variant(variant(CFG, '"sliding_window": 4096', '"sliding_window": 100000000000'), '"max_position_embeddings": 32768', '"max_position_embeddings": 1000000000000'), ('"sliding_window": 100000000000', 18), "'sliding_window' must be at most", AN)
C('analyze-duplicate', variant(CFG, '"rms_norm_eps": 1e-05', '"rms_norm_eps": 1e-05, "rms_norm_eps": 1e-06'), ('"rms_norm_eps"', 0, 2), "duplicate key 'rms_norm_eps'", AN)
C('analyze-layers-zero', variant(CFG, '"num_hidden_layers": 32', '"num_hidden_layers": 0'), ('"num_hidden_layers": 0', 21), "num_hidden_layers", AN)

# ---------------------------------------------------------------- measurement CSV
HDR = ("kind,class,name,dtype,kv_dtype,b,hq,dqk,dv,sq,skv,pairs,kv_width,count,m,n,k,"
       "flops,bytes,median_s,min_s\n")
ROWS = [
    "launch,launch,empty,bf16,,,,,,,,,,,,,,,,4e-06,\n",
    "gemm,gemm,cublas,bf16,,,,,,,,,,1,64,4096,4096,,,2.1e-05,2e-05\n",
    "gemm,gemm,cublas,bf16,,,,,,,,,,1,128,4096,4096,,,2.6e-05,2.5e-05\n",
    "attention,dec,gqa,bf16,bf16,4,32,128,128,1,8192,8192,2048,,,,,,,6.5e-05,\n",
]
CSV = '# device: corpus\n' + HDR + ''.join(ROWS)
CA = 'calibrate {} --hw h100 -o out.yaml'
PR = 'predict {} --hw h100'
VA = 'validate {} --hw h100'
K = lambda name, text, at, want, cmd=CA: case('csv', name, text, cmd, at, want)


def row(i):  # the data row i (0-based) of CSV as a marker
    return ROWS[i].rstrip('\n')


K('header-wrong', variant(CSV, 'kind,class', 'knd,class'), ('knd', 1), "header")
K('header-missing', '# device: corpus\n' + ''.join(ROWS), ('launch',), "header")
K('kind-unknown', variant(CSV, 'gemm,gemm,cublas,bf16,,,,,,,,,,1,64', 'gemx,gemm,cublas,bf16,,,,,,,,,,1,64'), ('gemx',), "gemx")
K('b-negative', variant(CSV, 'bf16,4,32', 'bf16,-4,32'), ('-4,32',), "b must be")
K('m-huge', variant(CSV, ',1,64,4096', ',1,4294967296,4096'), ('4294967296',), "2^31")
K('median-zero', variant(CSV, '2.1e-05,2e-05', '0,2e-05'), ('0,2e-05',), "not a kernel time")
K('median-too-long', variant(CSV, '2.1e-05,2e-05', '7200,2e-05'), ('7200',), "not a kernel time")
K('min-over-median', variant(CSV, '2.1e-05,2e-05', '2.1e-05,3e-05'), ('3e-05',), "larger than median_s")
K('class-space', variant(CSV, 'gemm,gemm,cublas', 'gemm,ge mm,cublas'), ('ge mm',), "class")
K('name-empty', variant(CSV, 'gemm,gemm,cublas', 'gemm,gemm,'), (row(1).replace('cublas', ''), 10), "name")
K('flops-mismatch', variant(CSV, ',1,64,4096,4096,,,', ',1,64,4096,4096,12345,,'), ('12345',), "flops")
K('bytes-mismatch', variant(CSV, ',1,64,4096,4096,,,', ',1,64,4096,4096,,777,'), ('777',), "bytes")
K('not-a-number', variant(CSV, ',1,64,4096', ',1,six,4096'), ('six',), "m must be")
K('nan', variant(CSV, ',1,64,4096', ',1,nan,4096'), ('nan',), "m must be")
K('dtype-unknown', variant(CSV, 'gemm,gemm,cublas,bf16', 'gemm,gemm,cublas,bf17'), ('bf17',), "bf17")
K('too-few-fields', variant(CSV, '2.6e-05,2.5e-05\n', '2.6e-05\n'), (row(2).replace(',2.5e-05', ''), len(row(2).replace(',2.5e-05', ''))), "fields")
K('too-many-fields', variant(CSV, '2.6e-05,2.5e-05\n', '2.6e-05,2.5e-05,1\n'), (row(2) + ',1', len(row(2)) + 1), "fields")
K('launch-no-median', variant(CSV, '4e-06,', ','), ('launch,launch', len('launch,launch,empty,bf16,,,,,,,,,,,,,,,,')), "median_s")
K('crlf-error', (HDR + ROWS[0] + 'gemm,gemm,cublas,bf16,,,,,,,,,,1,-64,4096,4096,,,2.1e-05,\n').replace('\n', '\r\n'), ('-64',), "m must be")
K('empty-file', '', (1, 1), "header")
K('pairs-over', variant(CSV, '8192,8192,2048', '8192,99999,2048'), ('99999',), "pairs")
K('predict-kind-unknown', variant(CSV, 'attention,dec', 'attn,dec'), ('attn,dec',), "attn", PR)
K('predict-median-zero', variant(CSV, '6.5e-05,', '0,'), ('0,\n', 0), "not a kernel time", PR)
K('validate-b-negative', variant(CSV, 'bf16,4,32', 'bf16,-4,32'), ('-4,32',), "b must be", VA)
K('validate-no-median', variant(CSV, '6.5e-05,', ','), (row(3).replace('6.5e-05,', ''), len(row(3)) - len('6.5e-05,')), "median_s", VA)

# ---------------------------------------------------------------- request traces (serve --trace)
TR = 'serve {R}/examples/serve-llama8b-fixed.yaml --hw h100 --trace {}'
T = lambda name, text, at, want: case('csv', 'trace-' + name, text, TR, at, want)
AZ = 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,396,109\n'
BG = 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n5,ChatGPT,472,18,490,Conversation log\n45,GPT-4,1087,230,1317,Conversation log\n'
OB = 'arrival_s,input_tokens,output_tokens,session\n0,100,20,a\n0.5,140,20,a\n'
T('unknown-column', variant(OB, 'output_tokens', 'outputs'), ('outputs',), "unknown trace column 'outputs'")
T('mixed-layouts', variant(AZ, 'GeneratedTokens', 'Response tokens'), ('Response',), "belongs to the BurstGPT layout")
T('missing-column', variant(BG, 'Response tokens,', ''), (1, 1), "no 'Response tokens' column")
T('tokens-word', variant(BG, '1087', 'many'), ('many',), "token count 'many' is not a whole number")
T('tokens-huge', variant(OB, '140', '99999999'), ('99999999',), "over 2^24")
T('tokens-negative', variant(OB, '140', '-140'), ('-140',), "not a whole number")
T('time-backwards', variant(BG, '45,GPT-4', '4,GPT-4'), ('4,GPT-4',), "goes back in time")
T('time-word', variant(OB, '0.5', 'soon'), ('soon',), "not a number of seconds")
T('date-invalid', variant(AZ, '2023-11-16 18:15:50', '2023-13-16 18:15:50'), ('2023-13',), "not a date and time")
T('too-few-fields', variant(OB, '0.5,140,20,a', '0.5,140,20'), ('0.5,140,20', 10), "expected 4 comma-separated fields")
T('too-many-fields', variant(BG, 'Conversation log\n45', 'Conversation log,x\n45'), (',x', 1), "expected 6 comma-separated fields")
T('unterminated-quote', variant(OB, '0.5,140,20,a', '0.5,140,20,"a'), ('"a',), "quote")
T('prefix-over-prompt', 'arrival_s,input_tokens,output_tokens,prefix,prefix_tokens\n0,100,20,sys,101\n', ('101',), "prefix_tokens (101) is more than the prompt")
T('prefix-no-tokens', 'arrival_s,input_tokens,output_tokens,prefix\n0,100,20,sys\n', (1, 1), "give both 'prefix' and 'prefix_tokens'")
T('empty', '', (1, 1), "empty trace")
T('priority-word', 'arrival_s,input_tokens,output_tokens,priority\n0,100,20,high\n', ('high',), "priority 'high' is not a whole number")
T('all-failed', variant(variant(BG, ',18,490', ',0,472'), ',230,1317', ',0,1087'), (3, 1), "no request with prompt and output tokens")
T('control-char', variant(OB, '0.5,140', '0.5\x07,140'), ('\x07',), "control character")
T('never-fits', variant(OB, '140', '16000000'), ('16000000',), "can never be served")

# ---------------------------------------------------------------- command line
A = 'analyze llama-3-8b --hw h100 '
P = 'opbound analyze: '
cli('batch-zero', A + '--phase decode --context 8 --batch 0', P, '--batch')
cli('batch-negative', A + '--phase decode --context 8 --batch -1', P, '--batch')
cli('batch-word', A + '--phase decode --context 8 --batch many', P, '--batch')
cli('batch-huge', A + '--phase decode --context 8 --batch 99999999999', P, '--batch')
cli('pp-over-layers', A + '--phase decode --context 8 --pp 33', P, "more pipeline stages than the model's 32 layers")
cli('pp-zero', A + '--phase decode --context 8 --pp 0', P, '--pp must be a whole number')
cli('micro-batches-over-batch', A + '--phase decode --context 8 --pp 2 --batch 2 --micro-batches 3', P, 'more micro-batches than the 2 sequences')
cli('attn-dp-with-tp', A + '--phase decode --context 8 --attn-dp 2 --tp 2', P, '--attn-dp with --tp, --ep or --pp is not modelled')
cli('ep-not-multiple-of-tp', 'analyze mixtral-8x7b --hw h100 --phase decode --context 8 --tp 4 --ep 2', P, '--ep a multiple of --tp')
cli('context-for-prefill', A + '--phase prefill --seq 8 --context 8', P, '--context is for --phase decode')
cli('seq-for-decode', A + '--phase decode --context 8 --seq 8', P, '--seq is for --phase prefill')
cli('decode-no-context', A + '--phase decode', P, 'needs --context')
cli('phase-bad', A + '--phase both --context 8', P, 'phase')
cli('tp-zero', A + '--phase decode --context 8 --tp 0', P, '--tp')
cli('tp-not-dividing', A + '--phase decode --context 8 --tp 3', '', 'not divisible by 3')
cli('context-huge', A + '--phase decode --context 2199023255552', P, '--context')
cli('seq-fraction', A + '--phase prefill --seq 1.5', P, '--seq')
cli('unknown-flag', A + '--phase decode --context 8 --fast', P, "unknown option '--fast'")
cli('missing-value', A + '--phase decode --context', P, '--context')
cli('hw-missing', 'analyze llama-3-8b --phase decode --context 8', P, '--hw')
cli('hw-unknown', 'analyze llama-3-8b --hw h999 --phase decode --context 8', '', "unknown device 'h999'")
cli('model-unknown', 'analyze llama-99 --hw h100 --phase decode --context 8', '', "unknown model 'llama-99'")
cli('model-missing-file', 'analyze ./nope.yaml --hw h100 --phase decode --context 8', './nope.yaml: ', 'no such file')
cli('model-is-dir', 'analyze . --hw h100 --phase decode --context 8', '.: ', 'directory')
cli('format-bad', A + '--phase decode --context 8 --format xml', P, 'xml')
cli('analyze-o', A + '--phase decode --context 8 -o out.txt', P, '-o')
cli('wdtype-bad', A + '--phase decode --context 8 --weight-dtype fp7', P, 'fp7')
cli('import-no-arg', 'import', 'opbound import: ', 'config.json')
cli('import-two-args', 'import a.json b.json', 'opbound import: ', 'config.json')
cli('import-missing', 'import ./nope.json -o out.yaml', './nope.json: ', '')
cli('import-o-missing-dir', 'import ' + '{R}/tests/data/hf/mistral-7b-v0.1.json' + ' -o no/such/dir/out.yaml', 'no/such/dir/out.yaml: ', 'cannot create')
cli('unknown-command', 'analyse llama-3-8b', "opbound: unknown command 'analyse'", '')
cli('compare-no-file', 'compare', 'opbound compare: ', '')
cli('report-no-o', 'report ' + '{R}/examples/study-attention.yaml', 'opbound report: ', '-o')
cli('sweep-no-vary', 'sweep llama-3-8b --hw h100 --phase decode --context 8 -o out', 'opbound sweep: ', 'vary')
cli('sweep-bad-range', 'sweep llama-3-8b --hw h100 --phase decode --vary context=8..1 -o out', 'opbound sweep: ', 'context')
cli('sweep-bad-name', 'sweep llama-3-8b --hw h100 --phase decode --context 8 --vary heads=1..8 -o out', 'opbound sweep: ', 'heads')
cli('sweep-too-many', 'sweep llama-3-8b --hw h100 --phase decode --context 8 --vary batch=' + ','.join(str(i) for i in range(1, 66)) + ' -o out', 'opbound sweep: ', '64')
cli('serve-fleet-tp', 'serve ' + '{R}/examples/serve-fleet-llama8b.yaml --hw h100 --tp 2', 'opbound serve: ', '--tp')
cli('serve-window-alone', 'serve ' + '{R}/examples/serve-fleet-llama8b.yaml --hw h100 --window 2', 'opbound serve: ', '--timeseries')
cli('serve-window-zero', 'serve ' + '{R}/examples/serve-fleet-llama8b.yaml --hw h100 --timeseries out/ts.png --window 0', 'opbound serve: ', '--window')
cli('serve-no-hw', 'serve ' + '{R}/examples/serve-llama8b-fixed.yaml', 'opbound serve: ', '--hw')
cli('calibrate-no-o', 'calibrate ' + '{R}/tests/fuzz/seeds/meas/gemm-attention.csv' + ' --hw h100', 'opbound calibrate: ', '')
cli('roofline-bad-ext', 'roofline llama-3-8b --hw h100 --phase decode --context 8 -o out.jpg', 'opbound roofline: ', '.png')

# quantization_config shapes (docs/import.md, "Quantised checkpoints")
QV = '"vocab_size": 32000'
C('quant-unknown', variant(CFG, QV, QV + ',\n  "quantization_config": {"quant_method": "bitsandbytes"}'), ('{"quant_method"',), "not modelled")
C('quant-ct-3bit', variant(CFG, QV, QV + ',\n  "quantization_config": {"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 3, "type": "int"}}}}'), ('{"num_bits"',), "3-bit int")
C('quant-ct-no-weights', variant(CFG, QV, QV + ',\n  "quantization_config": {"quant_method": "compressed-tensors", "config_groups": {}}'), ('{"quant_method"',), "num_bits")

# ---------------------------------------------------------------- plan --csv (shards for --merge)
PLAN_META = ('meta,format,opbound-plan-1\nmeta,model,llama-3-8b\nmeta,hw,h100\nmeta,gpus,1\n'
             'meta,isl,1024\nmeta,osl,128\nmeta,ttft_s,0\nmeta,tpot_s,0\n'
             'meta,objective,tokens-per-gpu\nmeta,dtypes,model\nmeta,modes,agg\nmeta,top,1\n'
             'meta,shard,1/1\nmeta,configs,2\nmeta,meets,2\nmeta,analyses,6\nmeta,wall_s,0.01\n')
PLAN_HDR = ('key,mode,tp,ep,gpus,replicas,batch,dt_w,dt_kv,n_prefill,n_decode,tp_p,ep_p,dt_w_p,'
            't_prefill_s,t_kv_s,ttft_s,t_decode_s,tpot_s,tok_s_user,tok_s_gpu,tok_s_total,'
            'usd_per_mtok,memory_bytes,meets,sample,dt_gemm,dt_gemm_p\n')
PLAN_ROWS = ('0,agg,1,1,1,1,1,bf16,bf16,0,0,0,0,bf16,0.028,0,0.028,0.0085,0.0087,114.9,114.9,'
             '114.9,6.5,16211782144,1,1,bf16,bf16\n'
             '65536,agg,1,1,1,1,2,bf16,bf16,0,0,0,0,bf16,0.028,0,0.028,0.00855,0.0089,112.3,'
             '224.6,224.6,3.3,16363041792,1,1,bf16,bf16\n')
PLAN = PLAN_META + PLAN_HDR + PLAN_ROWS
PM = 'plan --merge {}'
P = lambda name, text, at, want: case('csv', 'plan-' + name, text, PM, at, want)
P('format', variant(PLAN, 'opbound-plan-1', 'opbound-plan-9'), (1, 13), "format")
P('shard-over', variant(PLAN, 'shard,1/1', 'shard,3/2'), ('3/2',), "shard")
P('meta-unknown', variant(PLAN, 'meta,top,1', 'meta,tops,1'), (12, 6), "unknown meta field")
P('gpus-word', variant(PLAN, 'meta,gpus,1', 'meta,gpus,one'), ('one',), "not a number")
P('header-wrong', variant(PLAN, 'key,mode', 'key,mood'), ('key,mood',), "header")
P('meta-missing', variant(PLAN, 'meta,model,llama-3-8b\n', ''), ('key,mode',), "missing meta")
P('mode-unknown', variant(PLAN, '65536,agg', '65536,split'), ('split',), "agg or disagg")
P('dtype-unknown', variant(PLAN, '1,2,bf16,bf16', '1,2,bf16,bf17'), ('bf17',), "bf17")
P('number-bad', variant(PLAN, '0.00855', '0.0.0855'), ('0.0.0855',), "not a number")
P('meets-two', variant(PLAN, '16363041792,1,1', '16363041792,2,1'), ('16363041792,2', 12), "0 or 1")
P('fields-few', variant(PLAN, ',16363041792,1,1,bf16,bf16\n', ',16363041792,1,1,bf16\n'), ('65536',), "fields")
P('gemm-dtype-unknown', variant(PLAN, '16363041792,1,1,bf16,bf16', '16363041792,1,1,bf16,fp9'), ('fp9',), "fp9")
P('key-order', PLAN_META + PLAN_HDR + ''.join(reversed(PLAN_ROWS.splitlines(True))), ('0,agg',), "key order")
P('no-header', PLAN_META, (18, 1), "no header")
# every shard once: a file saying it is shard 1 of 2, merged alone (the command's check)
case('csv', 'plan-shard-half', variant(PLAN, 'shard,1/1', 'shard,1/2'), PM, (1, 1), '')
CASES[-1] = (CASES[-1][0], PM, 'opbound plan: ', 'every shard is needed once')
cli('plan-shard-bad', 'plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 0/2 --csv x.csv', 'opbound plan: ', '--shard')
cli('plan-shard-no-csv', 'plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 1/2', 'opbound plan: ', '--csv')
cli('plan-merge-none', 'plan --merge', 'opbound plan: ', 'CSV')
cli('plan-merge-with-hw', 'plan --merge x.csv --hw h100', 'opbound plan: ', '--hw')

with open(os.path.join(HERE, 'cases.txt'), 'w') as f:
    f.write('# Generated by tests/malformed/gen.py (edit that, then run it): one case per line,\n'
            '# CASE | COMMAND ({} = the case file) | FIRST STDERR LINE STARTS WITH | AND HOLDS\n')
    for rel, cmd, prefix, want in CASES:
        f.write('%s | %s | %s | %s\n' % (rel, cmd, prefix, want))
print('%d cases' % len(CASES))
