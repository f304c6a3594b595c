#!/usr/bin/env python3
"""scale-hopper-fit.py - rewrites the `calibration:` map of hw/h200.yaml,
hw/h800.yaml and hw/h20.yaml from hw/h100-sxm5-80gb.yaml's fit, scaled by each
device's datasheet (docs/measurements.md, "Bundled devices"): efficiencies and
kernel facts (tile_q, ctas_per_sm) unchanged, bytes_half x (its bandwidth /
3.35e12), flops_half x (its bf16 tensor peak / 989.4e12). Everything above the
map (with its impl_priors) is kept. Run from the repository root after
refitting the H100:

    ./build/opbound calibrate kernels/measurements/library/h100-library-2026-11-22.csv \\
        --hw hw/h100-sxm5-80gb.yaml -o hw/h100-sxm5-80gb.yaml --holdout none
    python3 tests/tools/scale-hopper-fit.py
"""
import re

H100_BW, H100_BF16 = 3.35e12, 989.4e12
DEVICES = [("hw/h200.yaml", 4.8e12, 989.4e12), ("hw/h800.yaml", 3.35e12, 989.4e12),
           ("hw/h20.yaml", 4.0e12, 148e12)]

def main():
    h100 = open("hw/h100-sxm5-80gb.yaml").read()
    cal = h100[h100.index("\ncalibration:") + 1:]
    head, body = cal.split("\n", 1)
    stamp = re.search(r"\((\S+Z)\)", head).group(1)
    for path, bw, tf in DEVICES:
        text = open(path).read()
        keep = text[:text.index("\ncalibration:") + 1]
        out = []
        for line in body.split("\n"):
            m = re.match(r"(\s+)(bytes_half|flops_half): (\S+)(.*)", line)
            if m:
                scale = bw / H100_BW if m.group(2) == "bytes_half" else tf / H100_BF16
                line = "%s%s: %.6g%s" % (m.group(1), m.group(2), float(m.group(3)) * scale,
                                         m.group(4))
            out.append(line)
        title = ("calibration:   # hw/h100-sxm5-80gb.yaml's fit, scaled by this datasheet (see "
                 "calibration_note); fitted by opbound calibrate (%s); docs/measurements.md" % stamp)
        open(path, "w").write(keep + title + "\n" + "\n".join(out))

if __name__ == "__main__":
    main()
