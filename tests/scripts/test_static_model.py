#!/usr/bin/env python3
"""bench_gpu --static (host/bench/static_model.h) runs without a GPU, prints a
line per case of issue 13 with its prediction and bounds, and its counts come
from the kernels the library was built with:

- every case line (a), (a'), (b) starts with its label, names the fast
  transform (what `auto` means on a GPU) and holds "predicted <number>
  run-steps/s", "draw-only bound" and "FMA bound";
- the registers it prints for each fused kernel are those of the machine code
  embedded in libtsgd_cuda.a (the cubin's EIATTR_REGCOUNT), and that code has
  the size of the code ptxas made of the PTX the model counted, kernel by
  kernel (so the PTX counted is the PTX the library was built from);
- in the model's table every kernel's draws, dot products and updates are
  weighted by the B loop (once per sample of a step).

    test_static_model.py BENCH_GPU LIBTSGD_CUDA GENERATED_CUBIN
"""
import re
import struct
import subprocess
import sys

EM_CUDA = 190
KERNEL = re.compile(r"fused_sgd_kernelI([fd])Li(\d+)E")


def elf_images(data):
    """Offsets of the CUDA ELF images (cubins) inside `data`."""
    start = 0
    while True:
        start = data.find(b"\x7fELF", start)
        if start < 0:
            return
        if len(data) > start + 20 and struct.unpack_from("<H", data, start + 18)[0] == EM_CUDA:
            yield start
        start += 4


def kernels_of_cubin(data, base):
    """{(real, rows): (registers, code bytes)} of the fused kernels of one cubin."""
    shoff = struct.unpack_from("<Q", data, base + 0x28)[0]
    entsize, count, names_index = struct.unpack_from("<HHH", data, base + 0x3A)

    def section(i):
        return struct.unpack_from("<IIQQQQIIQQ", data, base + shoff + i * entsize)

    def cstring(offset):
        return data[offset:data.index(b"\0", offset)].decode()

    names = section(names_index)
    sections = {cstring(base + names[4] + section(i)[0]): section(i) for i in range(count)}
    symtab, strtab = sections.get(".symtab"), sections.get(".strtab")
    if symtab is None or ".nv.info" not in sections:
        return {}

    def symbol(index):
        return cstring(base + strtab[4] + struct.unpack_from("<I", data, base + symtab[4] + 24 * index)[0])

    out = {}
    info = sections[".nv.info"]
    p, end = base + info[4], base + info[4] + info[5]
    while p < end:
        fmt, attr = data[p], data[p + 1]
        if fmt == 4:  # EIFMT_SVAL: u16 size, then the value
            size = struct.unpack_from("<H", data, p + 2)[0]
            if attr == 0x2F:  # EIATTR_REGCOUNT: symbol, registers
                sym, registers = struct.unpack_from("<II", data, p + 4)
                m = KERNEL.search(symbol(sym))
                if m:
                    text = sections.get(".text." + symbol(sym))
                    out[(m.group(1), int(m.group(2)))] = (registers, text[5] if text else -1)
            p += 4 + size
        elif fmt in (2, 3):
            p += 4
        elif fmt == 1:
            p += 2
        else:
            raise SystemExit(f"unknown .nv.info format {fmt}")
    return out


def compiled_kernels(path):
    with open(path, "rb") as f:
        data = f.read()
    found = {}
    for base in elf_images(data):
        found.update(kernels_of_cubin(data, base))
    return found


def main(bench, library, generated_cubin):
    run = subprocess.run([bench, "--static"], capture_output=True, text=True, timeout=60)
    print(run.stdout)
    if run.returncode != 0:
        raise SystemExit(f"bench_gpu --static exited with {run.returncode}: {run.stderr}")
    lines = run.stdout.splitlines()
    for label in ("(a)", "(a')", "(b)"):
        line = next((l for l in lines if l.startswith(label + " ")), None)
        if line is None:
            raise SystemExit(f"no line for case {label}")
        m = re.search(r"predicted ([0-9.e+]+) run-steps/s", line)
        if not m or float(m.group(1)) <= 0:
            raise SystemExit(f"case {label}: no positive 'predicted <number> run-steps/s': {line}")
        # On a GPU rng_transform: auto is fast: the cases are modelled with the
        # draw branch that runs there, and say so.
        if ", fast transform:" not in line:
            raise SystemExit(f"case {label}: not modelled with the fast transform: {line}")
        for bound in ("draw-only bound", "FMA bound"):
            if bound not in line:
                raise SystemExit(f"case {label}: no {bound}: {line}")

    printed = {}
    for l in lines:
        m = re.match(r"<(float|double), *(\d+)> +(\d+) ", l)
        if m:
            printed[(m.group(1)[0], int(m.group(2)))] = int(m.group(3))
    built = compiled_kernels(library)
    modelled = compiled_kernels(generated_cubin)
    if not printed or set(printed) != set(built) or set(built) != set(modelled):
        raise SystemExit(f"kernels: printed {sorted(printed)}, in the library {sorted(built)}, "
                         f"in the model's cubin {sorted(modelled)}")
    for key in sorted(built):
        registers, code = built[key]
        if printed[key] != registers:
            raise SystemExit(f"{key}: the model says {printed[key]} registers, the library's kernel has {registers}")
        if modelled[key] != built[key]:
            raise SystemExit(f"{key}: the model's PTX compiles to {modelled[key]} (registers, code bytes), "
                             f"the library's kernel is {built[key]}: the model counted other code")
        print(f"{key}: {registers} registers, {code} bytes of code: the model's and the library's agree")
    check_sample_loops(generated_cubin[: -len(".cubin")])


def check_sample_loops(table):
    """Each kernel's draws, dot products and updates run once per sample of the
    step: their buckets carry the B loop's weight ("B/u"). A loop the script
    leaves out (math/permutation.h's, taken only with a finite training set)
    must not take the B loop with it, as it once did."""
    with open(table) as f:
        text = f.read()
    kernels = re.split(r'\n  \{"(?:float|double)", ', text)[1:]
    if not kernels:
        raise SystemExit(f"{table}: no kernel rows")
    for row in kernels:
        name = row.split(",", 2)[1].strip().strip('"')
        for phase in ("draw", "dot", "update"):
            weights = re.findall(r'\{"' + phase + r'", "([^"]*)"', row)
            if not any(w.startswith("B/") or "*B/" in w or w.startswith("B^") for w in weights):
                raise SystemExit(f"{table}: {name}: no {phase} bucket weighted by the B loop ({weights})")
    print(f"{len(kernels)} kernels: draws, dot products and updates weighted by the samples of a step")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
