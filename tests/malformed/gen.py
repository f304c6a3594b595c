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
cli('hw-unknown', 'analyze llama-3-8b --hw h999 --phase decode --context 8', P, "unknown device 'h999'")
cli('model-unknown', 'analyze llama-99 --hw h100 --phase decode --context 8', P, "unknown model 'llama-99'")
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
PLC = lambda name, text, at, want: case('csv', 'plan-' + name, text, PM, at, want)
PLC('format', variant(PLAN, 'opbound-plan-1', 'opbound-plan-9'), (1, 13), "format")
PLC('shard-over', variant(PLAN, 'shard,1/1', 'shard,3/2'), ('3/2',), "shard")
PLC('meta-unknown', variant(PLAN, 'meta,top,1', 'meta,tops,1'), (12, 6), "unknown meta field")
PLC('gpus-word', variant(PLAN, 'meta,gpus,1', 'meta,gpus,one'), ('one',), "not a number")
PLC('header-wrong', variant(PLAN, 'key,mode', 'key,mood'), ('key,mood',), "header")
PLC('meta-missing', variant(PLAN, 'meta,model,llama-3-8b\n', ''), ('key,mode',), "missing meta")
PLC('mode-unknown', variant(PLAN, '65536,agg', '65536,split'), ('split',), "agg or disagg")
PLC('dtype-unknown', variant(PLAN, '1,2,bf16,bf16', '1,2,bf16,bf17'), ('bf17',), "bf17")
PLC('number-bad', variant(PLAN, '0.00855', '0.0.0855'), ('0.0.0855',), "not a number")
PLC('meets-two', variant(PLAN, '16363041792,1,1', '16363041792,2,1'), ('16363041792,2', 12), "0 or 1")
PLC('fields-few', variant(PLAN, ',16363041792,1,1,bf16,bf16\n', ',16363041792,1,1,bf16\n'), ('65536',), "fields")
PLC('gemm-dtype-unknown', variant(PLAN, '16363041792,1,1,bf16,bf16', '16363041792,1,1,bf16,fp9'), ('fp9',), "fp9")
PLC('key-order', PLAN_META + PLAN_HDR + ''.join(reversed(PLAN_ROWS.splitlines(True))), ('0,agg',), "key order")
PLC('no-header', PLAN_META, (18, 1), "no header")
# every shard once: a file saying it is shard 1 of 2, merged alone (the command's check)
case('csv', 'plan-shard-half', variant(PLAN, 'shard,1/1', 'shard,1/2'), PM, (1, 1), '')
CASES[-1] = (CASES[-1][0], PM, 'opbound plan: ', 'every shard is needed once')
cli('plan-shard-bad', 'plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 0/2 --csv x.csv', 'opbound plan: ', '--shard')
cli('plan-shard-no-csv', 'plan llama-3-8b --hw h100 --gpus 8 --isl 1k --osl 64 --shard 1/2', 'opbound plan: ', '--csv')
cli('plan-merge-none', 'plan --merge', 'opbound plan: ', 'CSV')
cli('plan-merge-with-hw', 'plan --merge x.csv --hw h100', 'opbound plan: ', '--hw')

# ================================================================ the surfaces of the second campaign
# (docs/reliability.md, "Second campaign"): implementation profiles, mask
# programs, KV budgets and layer routing, `measure import`, plan, train,
# speculative decoding, repeated options.

# ---------------------------------------------------------------- profile YAML
PROF = """# a profile for the malformed-input corpus
name: t
summary: test profile
launch: eager
impl: {gemm: cublas, attention: fa2}
roles:
  residual:
    impl: eager
    kernels:
      - name: add
        kind: elementwise
        reads: [{elems: 2*rows*cols, dtype: act}]
        writes: [{elems: rows*cols, dtype: act}]
        flops: rows*cols
  attention:
    - {impl: fa2}
    - {impl: cudnn}
"""
AP = 'analyze llama-3-8b --hw h100 --phase decode --context 8 --profile {}'
F = lambda name, text, at, want: case('profile', name, text, AP, at, want)
F('empty', '', (1, 1), 'empty document')
F('comments-only', '# nothing here\n', (1, 1), 'empty document')
F('a-list', '- name: t\n', (1, 1), 'must be a mapping')
F('unknown-key', variant(PROF, 'launch: eager', 'lanch: eager'), ('lanch',), "unknown key 'lanch'")
F('name-missing', variant(PROF, 'name: t\n', ''), ('summary',), "missing required key 'name'")
F('name-empty', variant(PROF, 'name: t', 'name: ""'), ('""',), "'name' must not be empty")
F('name-too-long', variant(PROF, 'name: t', 'name: ' + 'x' * 80), ('x' * 80,), 'too long')
F('duplicate-key', variant(PROF, 'launch: eager', 'launch: eager\nlaunch: graph'), ('launch', 0, 2), "duplicate key 'launch'")
F('launch-bad', variant(PROF, 'launch: eager', 'launch: warp'), ('warp',), "unknown value 'warp'")
F('kind-impl-unknown-kind', variant(PROF, 'gemm: cublas', 'gemmm: cublas'), ('gemmm',), "unknown op kind 'gemmm'")
F('kind-impl-bad', variant(PROF, 'gemm: cublas', 'gemm: turbo'), ('turbo',), "unknown implementation 'turbo'")
F('role-unknown', variant(PROF, 'residual:', 'residuall:'), ('residuall',), "unknown role 'residuall'")
F('role-duplicate', PROF + '  residual: {impl: fused}\n', ('residual', 0, 2), "duplicate role 'residual'")
F('roles-list', variant(PROF, 'roles:\n', 'roles: []\nx:\n'), ('[]',), "'roles' must be a mapping")
F('variant-impl-bad', variant(PROF, 'impl: eager', 'impl: turbo'), ('turbo',), "unknown implementation 'turbo'")
F('variants-empty', variant(PROF, "  attention:\n    - {impl: fa2}\n    - {impl: cudnn}\n", "  attention: []\n"), ('[]',), '1 to 8 variants')
F('variants-same-impl', variant(PROF, '{impl: cudnn}', '{impl: fa2}'), ('{impl: fa2}', 0, 2), 'two variants with impl fa2')
F('eager-no-kernels', PROF + '  rope: {impl: eager}\n', ('{impl: eager}',), 'must list its kernels')
F('kernel-kind-bad', variant(PROF, 'kind: elementwise', 'kind: fancy'), ('fancy',), "unknown value 'fancy'")
F('kernel-no-writes', variant(PROF, '        writes: [{elems: rows*cols, dtype: act}]\n', ''), ('- name: add', 2), "missing 'writes'")
F('gemm-no-mnk', variant(PROF, 'kind: elementwise', 'kind: gemm'), ('- name: add', 2), 'needs m, n and k')
F('mnk-not-gemm', variant(PROF, 'flops: rows*cols', 'flops: rows*cols\n        m: rows'), ('m: rows', 3), 'm, n, k are for gemm')
F('reads-scalar', variant(PROF, 'reads: [{elems: 2*rows*cols, dtype: act}]', 'reads: 5'), ('5\n',), "'reads' must be a list")
F('dtype-unknown', variant(PROF, 'dtype: act}]\n        writes', 'dtype: fp7}]\n        writes'), ('fp7',), "unknown dtype 'fp7'")
F('writes-weights', variant(PROF, '{elems: rows*cols, dtype: act}', '{elems: rows*cols, dtype: act, as: weights}'), ('weights}',), 'does not write weights')
F('symbol-unknown', variant(PROF, 'flops: rows*cols', 'flops: rows*Q'), ('Q\n',), "unknown symbol 'Q'")
F('symbol-not-for-role', variant(PROF, 'flops: rows*cols', 'flops: rows*H'), ('H\n',), "symbol 'H' is not defined for this role")
F('expr-trailing', variant(PROF, 'flops: rows*cols', 'flops: rows*cols)'), ('cols)', 4), 'unexpected character')
F('expr-open-paren', variant(PROF, 'flops: rows*cols', 'flops: (rows*cols'), ('(rows*cols\n', 10), "expected ')'")
F('expr-empty', variant(PROF, 'flops: rows*cols', 'flops: ""'), ('""',), "'flops' must not be empty")
F('expr-nan', variant(PROF, 'flops: rows*cols', 'flops: nan'), ('nan',), "unknown symbol 'nan'")
F('expr-huge-number', variant(PROF, 'flops: rows*cols', 'flops: 1e400'), ('1e400',), 'bad number')
F('expr-too-long', variant(PROF, 'flops: rows*cols', 'flops: ' + '+'.join(['rows'] * 30)), ('rows+',), 'too long')
F('expr-min-one-arg', variant(PROF, 'flops: rows*cols', 'flops: min(rows)'), ('min(rows)', 8), "expected ','")
F('expr-many-negations', variant(PROF, 'flops: rows*cols', 'flops: ' + '-' * 100 + 'rows'), ('-' * 100 + 'rows', 0), 'expression too long')
F('too-many-tensors', variant(PROF, 'reads: [{elems: 2*rows*cols, dtype: act}]', 'reads: [' + ', '.join(['{elems: 1, dtype: act}'] * 7) + ']'), ('reads: [', 7), 'at most 6 tensors')
F('bad-utf8', variant(PROF, 'summary: test profile', 'summary: te\xff').encode('latin-1'), ('summary: te', 11), 'UTF-8')
F('control-char', variant(PROF, 'summary: test profile', 'summary: te\x01st'), ('\x01',), 'control characters')
F('two-documents', PROF + '---\nname: u\n', ('name: u',), 'second YAML document')
F('deep-nesting', variant(PROF, 'summary: test profile', 'summary: ' + '[' * 100), ('[' * 65, 64), 'nesting deeper than 64')
F('tab-indent', variant(PROF, '  residual:', '\tresidual:'), ('\tresidual', 0), 'YAML')

# ---------------------------------------------------------------- flex masks
FLEX = """# a flex (mask program) model for the malformed-input corpus
name: f
hidden: 4096
layers: 32
vocab: 128256
tied_embeddings: false
norm: rmsnorm
dtypes: {weight: bf16, activation: bf16, kv: bf16}
groups:
  - repeat: 32
    attention: {kind: flex, heads: 32, kv_heads: 8, head_dim: 128,
                mask: [causal, {window: 4096}]}
    ffn: {kind: swiglu, intermediate: 14336}
"""
FM = lambda name, mask, at, want, cmd=AN: case('model', 'flex-' + name, variant(FLEX, '[causal, {window: 4096}]', mask), cmd, at, want)
FM('mask-empty', '[]', ('[]',), 'non-empty list')
FM('mask-scalar', 'causal', ('causal}',), "'mask' must be a list")
FM('part-unknown', '[causul]', ('causul',), "unknown mask part 'causul'")
FM('causal-value', '[{causal: 1}]', ('{causal',), 'causal takes no value')
FM('window-zero', '[causal, {window: 0}]', ('0}',), 'window must be a whole number from 1')
FM('window-negative', '[causal, {window: -5}]', ('-5',), 'window must be a whole number')
FM('window-fraction', '[causal, {window: 1.5}]', ('1.5',), 'window must be a whole number')
FM('window-huge', '[causal, {window: 1e308}]', ('1e308',), 'window must be a whole number')
FM('window-nan', '[causal, {window: .nan}]', ('.nan',), 'window must be a whole number')
FM('window-2p53', '[causal, {window: 9007199254740993}]', ('9007199254740993',), 'window must be a whole number')
FM('window-quoted', '[causal, {window: "4096"}]', ('"4096"',), 'not a quoted string')
FM('prefix-zero', '[{prefix: 0}]', ('0}',), 'prefix must be a whole number from 1')
FM('chunk-zero', '[causal, {chunk: 0}]', ('0}',), 'chunk must be a whole number from 1')
FM('two-keys', '[{window: 4, chunk: 2}]', ('{window',), 'a mapping of one key')
FM('documents-empty', '[causal, {documents: []}]', ('[]}',), 'documents needs at least one length')
FM('documents-zero', '[causal, {documents: [0, 5]}]', ('0, 5',), 'documents (token counts) must be')
FM('documents-too-many', '[causal, {documents: [' + ', '.join(['1'] * 600) + ']}]', ('1, ', 3 * 512, 1), 'more than 512 list entries')
FM('blocks-no-size', '[{blocks: {offsets: [0]}}]', ('{offsets',), 'blocks needs size')
FM('blocks-unknown-key', '[{blocks: {size: 8, stride: 2}}]', ('stride',), "unknown key 'stride' in blocks")
FM('blocks-keeps-nothing', '[{blocks: {size: 128, offsets: [], global: []}}]', ('{size',), 'keeps no key')
FM('blocks-negative-offset', '[{blocks: {size: 128, offsets: [-1]}}]', ('-1',), 'blocks offsets must be')
FM('blocks-too-many-ranges', '[{blocks: {size: 1, offsets: [' + ', '.join(str(i) for i in range(80)) + ']}}]', ('{blocks',), 'at most 64')
FM('any-empty', '[{any: []}]', ('[]',), 'non-empty list of mask parts')
FM('any-exactly-64', '[{any: [' + ', '.join('{chunk: %d}' % (i + 2) for i in range(64)) + ']}]', ('{any',), 'more than 64 parts')
FM('any-too-wide', '[{any: [' + ', '.join('{chunk: %d}' % (i + 2) for i in range(70)) + ']}]', ('[{chunk',), 'more than 64 parts')
cli('flex-prefill-too-long', 'analyze {R}/examples/attn-flex.yaml --hw h100 --phase prefill --seq 2097153', P, 'at most 2097152 tokens')
cli('flex-train-too-long', 'train {R}/examples/attn-flex.yaml --hw h100 --gpus 8 --tp 8 --seq 4194304 --global-batch 4194304', 'opbound train: ', 'at most 2097152 tokens')
cli('flex-plan-too-long', 'plan {R}/examples/attn-flex.yaml --hw h100 --gpus 8 --isl 2097152 --osl 8', 'opbound plan: ', 'at most 2097152 tokens')

# ---------------------------------------------------------------- KV budgets, kv_share, layer routing
KV = lambda name, old, new, at, want: case('model', name, variant(MODEL, old, new), AN, at, want)
G = "    ffn: {kind: swiglu, intermediate: 14336}\n"
KV('kvb-no-method', G, G + '    kv_budget: {tokens: 1024}\n', ('{tokens',), "missing required key 'method'")
KV('kvb-method-bad', G, G + '    kv_budget: {method: lru, tokens: 1024}\n', ('lru',), "unknown value 'lru'")
KV('kvb-tokens-zero', G, G + '    kv_budget: {method: snapkv, tokens: 0}\n', ('0}',), "'tokens' must be at least 1")
KV('kvb-tokens-huge', G, G + '    kv_budget: {method: snapkv, tokens: 1e308}\n', ('1e308',), "'tokens' must be an integer")
KV('kvb-tokens-2p53', G, G + '    kv_budget: {method: snapkv, tokens: 9007199254740993}\n', ('9007199254740993',), "'tokens' must be at most")
KV('kvb-both', G, G + '    kv_budget: {method: snapkv, tokens: 10, ratio: 0.5}\n', ('{method',), 'exactly one of tokens and ratio')
KV('kvb-ratio-zero', G, G + '    kv_budget: {method: h2o, ratio: 0}\n', ('0}',), "'ratio' must be at least")
KV('kvb-ratio-inf', G, G + '    kv_budget: {method: h2o, ratio: .inf}\n', ('.inf',), "'ratio' must be a number")
KV('kvb-streaming-tokens', G, G + '    kv_budget: {method: streaming, sinks: 4, recent: 10, tokens: 5}\n', ('{method',), 'streaming keeps sinks + recent')
KV('kvb-window-not-snapkv', G, G + '    kv_budget: {method: h2o, tokens: 5, window: 3}\n', ('3}',), "SnapKV's observation window")
KV('kvb-list', G, G + '    kv_budget: [snapkv]\n', ('[snapkv]',), "'kv_budget' must be a mapping")
KV('kvb-duplicate', G, G + '    kv_budget: {method: snapkv, method: h2o, tokens: 3}\n', ('method', 0, 2), "duplicate key 'method'")
KV('kv-share-zero', 'head_dim: 128}', 'head_dim: 128, kv_share: 0}', ('0}',), "'kv_share' must be at least 1")
KV('kv-share-fraction', 'head_dim: 128}', 'head_dim: 128, kv_share: 1.5}', ('1.5',), "'kv_share' must be an integer")
KV('kv-share-not-dividing', 'head_dim: 128}', 'head_dim: 128, kv_share: 5}', ('5}',), 'does not divide')
KV('mod-capacity-zero', G, G + '    mod_capacity: 0\n', ('0\n', 0, 1), "'mod_capacity' must be at least")
KV('mod-capacity-nan', G, G + '    mod_capacity: .nan\n', ('.nan',), "'mod_capacity' must be a number")
KV('alt-without-fraction', G, G + '    alt_attention: {kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 128}\n', ('{kind: swa',), 'alt_attention and alt_fraction go together')
KV('alt-fraction-over-one', G, G + '    alt_attention: {kind: swa, heads: 32, kv_heads: 8, head_dim: 128, window: 128}\n    alt_fraction: 1.5\n', ('1.5',), "'alt_fraction' must be at most 1")
KV('alt-ffn-kind', G, G + '    alt_attention: {kind: swiglu, intermediate: 5}\n    alt_fraction: 0.5\n', ('swiglu, intermediate: 5',), "unknown attention kind 'swiglu'")

# ---------------------------------------------------------------- library benchmark JSON (measure import)
BENCH = """{"device": "D", "torch": "2",
 "props": {"sms": 132, "l2_bytes": 52428800},
 "ceilings": {"copy_GBps": 3000, "gemm8192_bf16_TFLOPs": 800},
 "gemms": [
  {"op": "q", "M": 64, "N": 4096, "K": 4096, "dtype": "bf16", "ms": 0.02, "ms_min": 0.02,
   "flops": 2147483648, "bytes": 34603008}],
 "prefill": [{"B": 1, "H": 32, "Hkv": 8, "D": 128, "S": 4096, "causal": true,
   "backend": "flash", "ms": 0.5, "ms_min": 0.5}],
 "decode": [{"B": 1, "H": 32, "Hkv": 8, "D": 128, "L": 8192, "backend": "grouped_bmm",
   "ms": 0.05, "ms_min": 0.05}],
 "mla_decode_bmm": []}
"""
MI = 'measure import {} -o out.csv'
J = lambda name, text, at, want: case('bench', name, text, MI, at, want, ext='json')
J('empty', '', (1, 1), 'empty document')
J('array', '[]\n', (1, 1), 'expected a JSON object')
J('no-props', variant(BENCH, '"props"', '"prop"'), (1, 1), "missing 'props'")
J('gemms-object', variant(BENCH, '"gemms": [', '"gemms": {"a": 1}, "x": ['), ('{"a"',), "'gemms' must be a list")
J('decode-missing', variant(BENCH, '"decode"', '"decodes"'), (1, 1), "'decode' must be a list")
J('m-zero', variant(BENCH, '"M": 64', '"M": 0'), ('0, "N"',), "'M' must be a number from 1")
J('m-2p53', variant(BENCH, '"M": 64', '"M": 9007199254740993'), ('9007199254740993',), "'M' must be a number")
J('m-fraction', variant(BENCH, '"M": 64', '"M": 64.5'), ('64.5',), "'M' must be a whole number")
J('ms-huge', variant(BENCH, '"ms": 0.02', '"ms": 1e308'), ('1e308',), "'ms' must be a number")
J('ms-string', variant(BENCH, '"ms": 0.02', '"ms": "fast"'), ('"fast"',), "'ms' must be a number")
J('ms-min-above', variant(BENCH, '"ms_min": 0.02', '"ms_min": 1'), ('1,\n',), 'ms_min above ms')
J('op-comma', variant(BENCH, '"op": "q"', '"op": "a,b"'), ('"a,b"',), 'must not hold a comma')
J('device-newline', variant(BENCH, '"device": "D"', '"device": "D\\nE"'), ('"D\\n',), 'control character')
J('torch-too-long', variant(BENCH, '"torch": "2"', '"torch": "' + 'x' * 300 + '"'), ('"xxx',), 'longer than 256')
J('dtype-unknown', variant(BENCH, '"dtype": "bf16"', '"dtype": "fp7"'), ('"fp7"',), "unknown dtype 'fp7'")
J('causal-number', variant(BENCH, '"causal": true', '"causal": 1'), ('1,\n',), "'causal' must be true or false")
J('causal-quoted', variant(BENCH, '"causal": true', '"causal": "true"'), ('"true"',), "'causal' must be true or false")
J('backend-unknown', variant(BENCH, '"backend": "flash"', '"backend": "triton"'), ('"triton"',), "unknown backend 'triton'")
J('grouped-h-not-multiple', variant(BENCH, '"Hkv": 8, "D": 128, "L"', '"Hkv": 7, "D": 128, "L"'), ('7, "D": 128, "L"',), 'H must be a multiple of Hkv')
J('flops-disagree', variant(BENCH, '"flops": 2147483648', '"flops": 12345'), ('{"op"',), 'flops 12345 disagrees')
J('size-product-huge', variant(BENCH, '"Hkv": 8, "D": 128, "S"', '"Hkv": 2147483648, "D": 2147483648, "S"'), ('{"B": 1, "H": 32, "Hkv": 2147483648',), 'out of range')
J('duplicate-key', variant(BENCH, '"torch": "2"', '"torch": "2", "device": "E"'), ('"device"', 0, 2), "duplicate key 'device'")
J('two-values', BENCH + '{}\n', ('{}\n',), 'text after the end')
J('bad-utf8', variant(BENCH, '"device": "D"', '"device": "D\xff"').encode('latin-1'), ('"D', 2), 'UTF-8')
J('deep-nesting', variant(BENCH, '"mla_decode_bmm": []', '"mla_decode_bmm": ' + '[' * 100 + ']' * 100), ('[' * 65, 63), 'nesting deeper than 64')
cli('measure-o-dir', 'measure import {R}/kernels/measurements/library/h100-library-2026-11-22.json -o .', '', '')
cli('measure-o-missing-dir', 'measure import {R}/kernels/measurements/library/h100-library-2026-11-22.json -o no/such/out.csv', 'no/such/out.csv: ', '')
cli('measure-input-dir', 'measure import {R}/kernels -o out.csv', '{R}/kernels: ', 'directory')
cli('measure-no-sub', 'measure export x.json', 'opbound measure: ', "unknown subcommand 'export'")

# ---------------------------------------------------------------- plan, train, speculative decoding, options
PL = 'plan llama-3-8b --hw h100 '
PP = 'opbound plan: '
cli('plan-gpus-zero', PL + '--gpus 0 --isl 8 --osl 8', PP, '--gpus')
cli('plan-gpus-huge', PL + '--gpus 1000000 --isl 8 --osl 8', PP, '--gpus')
cli('plan-gpus-2p53', PL + '--gpus 9007199254740993 --isl 8 --osl 8', PP, '--gpus')
cli('plan-isl-huge', PL + '--gpus 8 --isl 1000000000 --osl 8', PP, '--isl')
cli('plan-isl-nan', PL + '--gpus 8 --isl nan --osl 8', PP, '--isl')
cli('plan-osl-negative', PL + '--gpus 8 --isl 8 --osl -8', PP, '--osl')
cli('plan-no-osl', PL + '--gpus 8 --isl 8', PP, '--osl')
cli('plan-ttft-inf', PL + '--gpus 8 --isl 8 --osl 8 --ttft inf', PP, '--ttft')
cli('plan-tpot-zero', PL + '--gpus 8 --isl 8 --osl 8 --tpot 0', PP, '--tpot')
cli('plan-objective-bad', PL + '--gpus 8 --isl 8 --osl 8 --objective speed', PP, '--objective')
cli('plan-top-huge', PL + '--gpus 8 --isl 8 --osl 8 --top 1e308', PP, '--top')
cli('plan-o-dir', PL + '--gpus 8 --isl 8 --osl 8 -o .', PP, '-o')
cli('plan-gpus-twice', PL + '--gpus 8 --gpus 16 --isl 8 --osl 8', PP, '--gpus given twice')
TR = 'train llama-3-8b --hw h100 '
TP = 'opbound train: '
cli('train-seq-zero', TR + '--gpus 8 --seq 0 --global-batch 4096', TP, '--seq')
cli('train-seq-huge', TR + '--gpus 8 --seq 99999999999 --global-batch 99999999999', TP, '--seq')
cli('train-gpus-huge', TR + '--gpus 1099511627776 --seq 4096 --global-batch 4096', TP, '--gpus')
cli('train-gb-not-multiple', TR + '--gpus 1 --seq 4096 --global-batch 4097', TP, '')
cli('train-dp-split', TR + '--gpus 8 --seq 4096 --global-batch 4096', TP, 'do not split')
cli('train-pp-over-layers', TR + '--gpus 1024 --pp 1024 --seq 4096 --global-batch 4194304', TP, 'larger than the model')
cli('train-cp-not-dividing', TR + '--gpus 3 --cp 3 --seq 4096 --global-batch 4096', TP, '')
cli('train-zero-bad', TR + '--gpus 1 --seq 4096 --global-batch 4096 --zero 4', TP, '--zero')
cli('train-recompute-bad', TR + '--gpus 1 --seq 4096 --global-batch 4096 --recompute some', TP, '--recompute')
cli('train-dtype-bad', TR + '--gpus 1 --seq 4096 --global-batch 4096 --dtype int3', TP, '--dtype')
cli('train-format-bad', TR + '--gpus 1 --seq 4096 --global-batch 4096 --format xml', TP, '--format')
cli('train-ep-with-tp', 'train mixtral-8x7b --hw h100 --gpus 16 --tp 2 --ep 8 --seq 4096 --global-batch 65536', TP, '--ep with --tp')
cli('train-seq-twice', TR + '--gpus 1 --seq 4096 --seq 8192 --global-batch 8192', TP, '--seq given twice')
cli('train-tp-not-dividing', 'train {R}/examples/attn-ccgqa.yaml --hw h100 --gpus 8 --tp 8 --seq 4096 --global-batch 32768', TP, 'cannot split')
SP = A + '--phase decode --context 8 '
cli('spec-no-draft', SP + '--spec-accept 0.5', P, 'need --draft')
cli('spec-no-accept', SP + '--draft llama-3-8b', P, '--spec-accept')
cli('spec-accept-nan', SP + '--draft llama-3-8b --spec-accept nan', P, '--spec-accept')
cli('spec-accept-over-one', SP + '--draft llama-3-8b --spec-accept 1.5', P, '--spec-accept')
cli('spec-k-zero', SP + '--draft llama-3-8b --spec-accept 0.5 --spec-k 0', P, '--spec-k')
cli('spec-k-huge', SP + '--draft llama-3-8b --spec-accept 0.5 --spec-k 65', P, '--spec-k')
cli('spec-prefill', A + '--phase prefill --seq 8 --draft llama-3-8b --spec-accept 0.5', P, 'decode')
cli('spec-draft-unknown', SP + '--draft llama-99 --spec-accept 0.5', P, "unknown model 'llama-99'")
cli('spec-draft-tp', A + '--phase decode --context 8 --tp 8 --draft {R}/examples/attn-ccgqa.yaml --spec-accept 0.5', '{R}/examples/attn-ccgqa.yaml: ', 'cannot split')
cli('impl-no-equals', SP + '--impl attention', P, 'is not KEY=IMPL')
cli('impl-unknown-key', SP + '--impl foo=fa2', P, "unknown key 'foo'")
cli('impl-unknown-value', SP + '--impl attention=turbo', P, "unknown implementation 'turbo'")
cli('impl-key-twice', SP + '--impl attention=fa2,attention=cudnn', P, "'attention' is given twice")
cli('impl-empty-item', SP + '--impl attention=fa2,,gemm=cublas', P, 'is not KEY=IMPL')
cli('impl-too-long', SP + '--impl ' + 'a' * 600 + '=fa2', P, 'too long')
cli('profile-unknown', SP + '--profile nosuch', P, "unknown profile 'nosuch'")
cli('profile-dir', SP + '--profile {R}/models', '{R}/models: ', 'directory')
cli('profile-twice', SP + '--profile hf --profile engine', P, '--profile given twice')
cli('hw-twice', 'analyze llama-3-8b --hw h100 --hw a100 --phase decode --context 8', P, '--hw given twice')
cli('compare-impl-bad', 'compare llama-3-8b mistral-7b --hw h100 --phase decode --context 8 --impl attention=nope', 'opbound compare: ', "unknown implementation 'nope'")

with open(os.path.join(HERE, 'cases.txt'), 'w') as f:
    f.write('# Generated by tests/malformed/gen.py (edit that, then run it): one case per line,\n'
            '# CASE | COMMAND ({} = the case file) | FIRST STDERR LINE STARTS WITH | AND HOLDS\n')
    for rel, cmd, prefix, want in CASES:
        f.write('%s | %s | %s | %s\n' % (rel, cmd, prefix, want))
print('%d cases' % len(CASES))
