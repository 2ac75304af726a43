#!/usr/bin/env python3
"""Counts the fused kernel's PTX instructions per step and phase (docs/gpu.md,
"The static performance model"), for `bench_gpu --static`.

Reads the PTX of cuda/fused_sgd.cu (nvcc -ptx -lineinfo, the build's flags) and
ptxas's resource report (ptxas -v) of the same PTX, and writes a C++ table
(one entry per kernel instantiation) that bench_gpu compiles in:

- registers, spill stores and loads, stack frame and static shared memory, as
  ptxas reports them;
- the instructions of the kernel's step loop in buckets: (phase, loop weight,
  path, count). The phase of an instruction is the function of
  cuda/fused_kernel.cuh it was inlined from, found through the `.loc` line
  information (innermost frame in that file, following `inlined_at`):
  draw_inputs -> draw (in fused_draw_next, the next sample's draws during
  phase B: next), transposed_warp_sum -> reduction, the label noise
  (fused_label_noise, drawn in phase A by the block's last threads) -> noise,
  the rest of fused_partial_fields -> dot, fused_coefficients -> phase_b,
  fused_update_weights -> update, the kernel's own loop code -> step.
  The loop weight names the source loops around the instruction (B, warps,
  coefficient lanes, K, M) and how nvcc unrolled them (main loop of u
  iterations, or a remainder copy), and the unrolled row loops that stop at
  the task's rows or students (ROWS~P: rows / P of the copies run); the path names the branch of the source
  that the instruction belongs to (an activation, label noise, decay, kept or
  redrawn inputs, a trained second layer, the exact or the fast transform;
  several joined by "+"), so that bench_gpu counts, for a case, only the code
  its warps execute.

No kernel source is changed for this: phases are read from line information.
A loop the rules below do not know stops the script (name it in LOOP_RULES).

    scripts/ptx_static.py PTX PTXAS ARCH OUTPUT

runs PTXAS (ptxas -v -arch=ARCH, e.g. sm_90) on PTX, keeps its report beside
OUTPUT (OUTPUT.ptxas.txt) and writes the table to OUTPUT.
"""
import collections
import re
import subprocess
import sys

KERNEL_FILE = "cuda/fused_kernel.cuh"
PHASE_OF_FUNCTION = {
    "draw_inputs": "draw",
    "draw_sample": "draw",
    "transposed_warp_sum": "reduction",
    "fused_partial_fields": "dot",
    "fused_coefficients": "phase_b",
    "fused_update_weights": "update",
    "fused_sgd_kernel": "step",
}
# Source loops inside the step loop: (regular expression on the `for` line,
# trip symbol, source stride). bench_gpu evaluates the symbols for a case.
# A finite training set's sample order (math/permutation.h: taken only with
# data.train_size): its loops (the Feistel rounds, cycle-walking) are left
# out with the path.
FINITE_FUNCTIONS = r"sample_index|epoch_permutation|keyed_permutation|\d+feistel|\d+walkE|\d+permuteE"
LOOP_RULES = [
    (r"for \(int b = 0; b < th\.B; \+\+b\)", "B", 1),
    (r"for \(int k = 0; k < th\.nwarps; \+\+k\)", "W", 1),
    (r"for \(int q = lane; q < B \* P; q \+= 32\)", "QROWS", 32),
    (r"for \(int q = lane; q < th\.nruns \* B; q \+= 32\)", "QRUNS", 32),
    (r"for \(int k = 0; k < c\.K; \+\+k\)", "K", 1),
    (r"for \(int m = 0; m < c\.M; \+\+m\)", "M", 1),
    (r"for \(int m = 0; m < M; \+\+m\)", "M", 1),  # math/sgd_update.h: target_output
    (r"for \(int b = 0; b < batch; \+\+b\)", "B", 1),
]
# The next sample's draws during phase B (fused_draw_next, B = 1): a phase
# of their own, whatever they inline.
NEXT_FUNCTION = "fused_draw_next"
# Warp 0's next inputs, drawn by the last warp and taken by warp 0: one
# warp's worth per block-step.
NEXT0_FUNCTIONS = ("fused_draw_next_of_warp0", "fused_take_next_of_warp0")
STEP_LOOP = r"for \(std::int64_t t = 0; t < a\.steps; \+\+t\)"
# Branches of the source, by the condition of an `if` in the kernel file or
# by a function on the inline chain.
PATH_CONDITIONS = [
    (r"if \(th\.keep_inputs\)", "keep"),
    (r"else if \(th\.B > 1 && th\.owner\)", "redraw"),
    (r"if \(th\.decay\)", "decay"),
    (r"if \(!th\.overlap && draws_inputs\(th\)\)", "serial"),
    (r"if \(next && warp > 0 && draws_inputs\(th\)\)", "overlap"),
    (r"if \(next && warp == th\.nwarps - 1\)", "overlap"),  # warp 0's next inputs, by the last warp
    (r"if \(next && warp == 0\)", "overlap"),  # ... taken by warp 0
    (r"if \(rows != nullptr\)", "rows"),  # real inputs: the row read instead of the draw
    (r"if \(task\.labels != nullptr", "labels"),  # labels from files, read in phase A
    (r"if \(th\.noise_apart && ", "apart"),  # label noise in a pass of its own, not with the inputs
]
# A function on the inline chain names a branch; an instruction inside several
# (the exact transform of the label noise) carries all of them, joined by "+",
# and counts for a case only when the case takes every one. The transform's
# two branches (a launch-uniform kernel parameter, math/gaussian.h): exact
# (box_muller) and fast (box_muller_fast); the Philox bits are common.
# Unrolled loops over the P rows that stop at a bound uniform over the block
# (`if (p >= th.rows) break;` as the body's first statement): the warp skips
# the copies past the bound, so their instructions count rows / P of the time
# (weight "ROWS~P", "STUDENTS~P"; the copies are alike).
ROW_LOOP = r"for \(int p = 0; p < P; \+\+p\)"
ROW_BOUNDS = [(r"if \(p >= th\.rows\) break;", "ROWS"), (r"if \(p >= th\.students\) break;", "STUDENTS")]
PATH_FUNCTIONS = [(r"gaussian_at", "noise"), (r"fused_update_v", "train_v"),
                  (r"decayed_weight", "decay"), (r"\d+box_muller_fastE", "fast"),
                  (r"\d+box_mullerE", "exact"), (FINITE_FUNCTIONS, "finite"),
                  (r"fused_sample_label", "labels")]
# The label noise drawn in phase A by the block's last threads (one warp, not
# every warp): its own phase, counted once per block-step.
NOISE_FUNCTION = "fused_label_noise"

LOC = re.compile(r"\.loc\s+(\d+)\s+(\d+)\s+(\d+)(?:,\s*function_name\s+(\$L__info_string\d+)"
                 r",\s*inlined_at\s+(\d+)\s+(\d+)\s+(\d+))?")
ENTRY = re.compile(r"^\.(?:visible\s+)?entry\s+(\S+)\(")
KERNEL_NAME = re.compile(r"fused_sgd_kernelI([fd])Li(\d+)E")
SELF_ADD = re.compile(r"^add\.s32\s+(%r\d+),\s*(%r\d+),\s*(-?\d+);")


def read_strings(lines):
    """$L__info_stringN -> the bytes of the (mangled) function name."""
    names, current, data = {}, None, []
    for line in lines:
        m = re.match(r"^(\$L__info_string\d+):", line)
        if m:
            if current:
                names[current] = bytes(data).decode("ascii", "replace")
            current, data = m.group(1), []
        elif current and line.startswith(".b8"):
            data += [int(x) for x in line[3:].replace(" ", "").split(",") if x]
    if current:
        names[current] = bytes(data).decode("ascii", "replace")
    return {k: v.rstrip("\0") for k, v in names.items()}


def read_files(lines):
    files = {}
    for line in lines:
        m = re.match(r'^\s*\.file\s+(\d+)\s+"([^"]+)"', line)
        if m:
            files[int(m.group(1))] = m.group(2)
    return files


def block_end(source, first, column=0):
    """Last line (0-based) of the statement or braced block that starts on
    line `first` at `column`."""
    depth, opened = 0, False
    for i in range(first, len(source)):
        code = source[i][column if i == first else 0:].split("//")[0]
        for char in code:
            depth += (char == "{") - (char == "}")
            opened = opened or char == "{"
            if opened and depth == 0:
                return i
        if not opened and code.rstrip().endswith(";"):
            return i
    return len(source) - 1


def function_ranges(source):
    """(name, first line, last line), 1-based, of the kernel file's functions."""
    ranges = []
    for i, line in enumerate(source):
        m = re.match(r"^(?:__device__|__global__|\s+fused_sgd_kernel).*?(\w+)\(", line)
        if m and not line.startswith("#"):
            name = m.group(1)
            if name == "TSGD_REGISTER_BUDGET":  # the kernel's name is on the next line
                name = re.search(r"(\w+)\(", source[i + 1]).group(1)
            j = i
            while not source[j].rstrip().endswith("{"):
                j += 1
            ranges.append((name, i + 1, block_end(source, j) + 1))
    return ranges


def path_lines(source):
    """1-based line -> path tag, for the blocks of PATH_CONDITIONS. A pattern
    that matches no line stops the script: the kernel's condition was edited,
    and its branch would otherwise count for every case."""
    tags, matched = {}, set()
    for i, line in enumerate(source):
        for pattern, tag in PATH_CONDITIONS:
            m = re.search(pattern, line)
            if m:
                matched.add(pattern)
                for k in range(i + 2, block_end(source, i, m.start()) + 2):
                    tags.setdefault(k, tag)
    missing = [tag for pattern, tag in PATH_CONDITIONS if pattern not in matched]
    if source and missing:
        raise SystemExit(f"{KERNEL_FILE}: no line matches the condition of path(s) {', '.join(missing)} "
                         "(scripts/ptx_static.py PATH_CONDITIONS)")
    return tags


def row_bound_lines(source):
    """1-based line -> bound symbol, for the bodies of the ROW_BOUNDS loops."""
    tags = {}
    for i, line in enumerate(source):
        if re.search(ROW_LOOP, line) and i + 1 < len(source):
            for pattern, symbol in ROW_BOUNDS:
                if re.search(pattern, source[i + 1]):
                    for k in range(i + 2, block_end(source, i) + 2):
                        tags[k] = symbol
    return tags


def activation_lines(source):
    """1-based line of math/activation.h -> the activation whose case it is."""
    tags, current = {}, None
    for i, line in enumerate(source):
        m = re.search(r"case Activation::(\w+):", line)
        if m:
            current = m.group(1)
        elif re.match(r"^\s*}", line):
            current = None
        elif current:
            tags[i + 1] = "act:" + current
    return tags


class Kernel:
    def __init__(self, name, body):
        self.name = name
        self.body = body  # (instruction text, loc tuple or None)
        self.locs = []  # every .loc directive: (index in body, loc tuple)


def split_kernels(lines):
    kernels, current, loc = [], None, None
    for line in lines:
        m = ENTRY.match(line)
        if m:
            current = Kernel(m.group(1), [])
            kernels.append(current)
            continue
        if current is None:
            continue
        if line.startswith("}"):
            current = None
            continue
        s = line.strip()
        m = LOC.match(s)
        if m:
            g = m.groups()
            loc = (int(g[0]), int(g[1]), int(g[2]), g[3],
                   (int(g[4]), int(g[5]), int(g[6])) if g[4] else None)
            current.locs.append((len(current.body), loc))
        elif s and not s.startswith(("//", ".reg", ".local", ".shared", ".param", "{", "}", ".maxnreg",
                                     ".pragma", ".maxntid", ".reqntid")) and not s.startswith("$L__"):
            current.body.append((s, loc))
        elif s.startswith("$L__BB"):
            current.body.append((s, None))
    return kernels


class Analysis:
    def __init__(self, files, strings):
        self.files = files
        self.strings = strings
        self.sources = {}
        for index, path in files.items():
            try:
                with open(path) as f:
                    self.sources[index] = f.read().split("\n")
            except OSError:
                self.sources[index] = []
        self.kernel_file = next(i for i, p in files.items() if p.endswith(KERNEL_FILE))
        kernel_source = self.sources[self.kernel_file]
        self.ranges = function_ranges(kernel_source)
        self.kernel_paths = path_lines(kernel_source)
        self.row_bounds = row_bound_lines(kernel_source)
        self.activation_file = next((i for i, p in files.items() if p.endswith("math/activation.h")), None)
        self.activations = activation_lines(self.sources.get(self.activation_file, []))

    def function_at(self, line):
        best = None
        for name, first, last in self.ranges:
            if first <= line <= last and (best is None or first >= best[1]):
                best = (name, first, last)
        return best[0] if best else None

    def line_text(self, file, line):
        src = self.sources.get(file, [])
        return src[line - 1] if 0 < line <= len(src) else ""


class Parents:
    """Where each inlined source location was inlined: every `.loc` with an
    inlined_at of a kernel, looked up by (file, line, column), else by (file,
    line), the record nearest in the PTX to the instruction asking."""

    def __init__(self, locs):
        self.exact, self.by_line = collections.defaultdict(list), collections.defaultdict(list)
        for index, loc in locs:
            if loc[4] is not None:
                self.exact[loc[:3]].append((index, loc))
                self.by_line[loc[:2]].append((index, loc))

    def get(self, key, index):
        records = self.exact.get(key) or self.by_line.get(key[:2])
        if not records:
            return None
        return min(records, key=lambda r: abs(r[0] - index))[1]


def chain(loc, parents, index):
    """Frames (file, line, function string) from the innermost outwards."""
    frames, seen = [], set()
    while loc is not None and loc[:3] not in seen:
        file, line, col, func, at = loc
        seen.add(loc[:3])
        frames.append((file, line, func))
        if at is None:
            loc = parents.get(loc[:3], index)
            if loc is not None and loc[:3] in seen:  # the same location, now with its caller
                frames[-1] = (file, line, loc[3])
                seen.discard(loc[:3])
                loc, at = None, loc[4]
                loc = parents.get(at, index) or (at[0], at[1], at[2], None, None)
        else:
            loc = parents.get(at, index) or (at[0], at[1], at[2], None, None)
    return frames


def analyse(kernel, analysis, rows):
    """Buckets (phase, weight, path) -> count of the step loop of `kernel`
    (row class `rows`)."""
    parents = Parents(kernel.locs)
    instructions = []  # (text, frames)
    labels = {}
    for index, (text, loc) in enumerate(kernel.body):
        if text.startswith("$L__BB"):
            labels[text.rstrip(":")] = len(instructions)
            continue
        instructions.append((text, chain(loc, parents, index) if loc else []))

    # Loops: back edges (a branch to a label at or before it).
    loops = []
    for i, (text, frames) in enumerate(instructions):
        m = re.search(r"bra(?:\.uni)?\s+(\$L__BB\w+);", text)
        if m and labels.get(m.group(1), i + 1) <= i:
            loops.append((labels[m.group(1)], i, frames))
    bars = [i for i, (t, _) in enumerate(instructions) if t.startswith("bar.sync")]
    step = [(a, b) for a, b, _ in loops if len([x for x in bars if a <= x <= b]) >= 2]
    if not step:
        raise SystemExit(f"{kernel.name}: no loop holds the step's barriers")
    first, last = min(step, key=lambda ab: ab[1] - ab[0])
    # Between the step's first two barriers run only phase B (warp 0) and,
    # under the overlap, the next sample's draws: an instruction there that
    # line information puts in phase A or C (nvcc gives a common
    # subexpression, lane = threadIdx.x % 32, the line of its first use in
    # fused_partial_fields) is phase B's.
    step_bars = [x for x in bars if first <= x <= last]
    phase_b_region = (step_bars[0], step_bars[1])

    def source_loop(frames, start, end):
        candidates = [frames] + [instructions[k][1] for k in range(start, end + 1)]
        for fr in candidates:
            for file, line, _ in fr:
                text = analysis.line_text(file, line)
                if "for (" in text:
                    return file, line, text
        return None

    def finite_path(start, end):
        return any(re.search(FINITE_FUNCTIONS, analysis.strings.get(func, "") if func else "")
                   for k in range(start, end + 1) for _, _, func in instructions[k][1])

    inner = []
    for a, b, frames in loops:
        if first <= a and b <= last and (a, b) != (first, last):
            found = source_loop(frames, a, b)
            # A finite training set's own loops (the Feistel rounds, cycle-walking in
            # math/permutation.h) go with its path ("finite"), never in the online
            # cases; loops that merely inline sample_index (the B loops) stay.
            if (found is None or analysis.files[found[0]].endswith("permutation.h")) and \
                    finite_path(a, b):
                continue
            if found is None:
                raise SystemExit(f"{kernel.name}: a loop at PTX instructions {a}..{b} has no source line")
            file, line, text = found
            rule = next(((sym, stride) for pattern, sym, stride in LOOP_RULES if re.search(pattern, text)), None)
            if rule is None:
                raise SystemExit(f"{kernel.name}: no trip rule for the loop at {analysis.files[file]}:{line}: "
                                 f"{text.strip()} (scripts/ptx_static.py LOOP_RULES)")
            nested = [(c, d) for c, d, _ in loops if a <= c and d <= b and (c, d) != (a, b)]
            steps = [abs(int(m.group(3))) for k in range(a, b + 1)
                     if not any(c <= k <= d for c, d in nested)
                     for m in [SELF_ADD.match(instructions[k][0])] if m and m.group(1) == m.group(2)]
            steps = [s // rule[1] for s in steps if s % rule[1] == 0 and s // rule[1] >= 1]
            unroll = collections.Counter(steps).most_common(1)[0][0] if steps else 1
            end = block_end(analysis.sources[file], line - 1) + 1
            phase = PHASE_OF_FUNCTION.get(analysis.function_at(line)) if file == analysis.kernel_file else None
            inner.append([a, b, rule[0], unroll, (file, line, end), phase, "/"])
    # nvcc unrolls a loop of run-time trip count n into a main loop of u
    # copies (n / u passes) and a remainder: either a loop of its own
    # (n mod u passes, marked "^") or up to u - 1 guarded copies outside any
    # loop (marked "%": counted as (n mod u) / (u - 1) of them).
    for loop in inner:
        widest = max(l[3] for l in inner if l[4][:2] == loop[4][:2])
        if loop[3] == 1 and widest > 1:
            loop[3], loop[6] = widest, "^"

    buckets = collections.Counter()
    last_phase = "step"
    for i in range(first, last + 1):
        text, frames = instructions[i]
        phase, tags, noise = None, set(), False
        for file, line, func in frames:
            name = analysis.strings.get(func, "") if func else ""
            tags.update(next(([tag] for pattern, tag in PATH_FUNCTIONS if re.search(pattern, name)), []))
            noise = noise or NOISE_FUNCTION in name
            if file == analysis.activation_file and line in analysis.activations:
                tags.add(analysis.activations[line])
            if file == analysis.kernel_file:
                if line in analysis.kernel_paths:
                    tags.add(analysis.kernel_paths[line])
                if phase is None:
                    phase = PHASE_OF_FUNCTION.get(analysis.function_at(line))
        path = "+".join(sorted(tags))
        if phase is None:
            phase = last_phase
        last_phase = phase
        if noise and phase in ("draw", "dot"):
            phase = "noise"
        if phase_b_region[0] < i < phase_b_region[1] and phase in ("draw", "dot", "reduction", "update",
                                                                   "noise"):
            phase = "phase_b"
        if any(file == analysis.kernel_file and analysis.function_at(line) == NEXT_FUNCTION
               for file, line, _ in frames):
            phase = "next"
        if any(file == analysis.kernel_file and analysis.function_at(line) in NEXT0_FUNCTIONS
               for file, line, _ in frames):
            phase = "next0"
        weight = []
        for a, b, sym, unroll, _, loop_phase, kind in inner:
            if a <= i <= b:
                weight.append(f"{sym}{kind}{unroll}")
                if phase == "step" and loop_phase:
                    phase = loop_phase  # the loop's own bookkeeping
        bound = next((analysis.row_bounds[line] for file, line, _ in frames
                      if file == analysis.kernel_file and line in analysis.row_bounds), None)
        if bound:
            weight.append(f"{bound}~{rows}")
        for a, b, sym, unroll, (file, lo, hi), _, _ in inner:
            if unroll > 1 and not any(l[0] <= i <= l[1] for l in inner if l[2] == sym) and any(
                    f == file and lo <= l <= hi for f, l, _ in frames):
                weight.append(f"{sym}%{unroll}")
                break
        buckets[(phase, "*".join(sorted(set(weight))), path)] += 1
    return buckets, last - first + 1


def read_ptxas(path):
    """Mangled kernel name -> resources, from ptxas -v."""
    out, current = {}, None
    with open(path) as f:
        for line in f:
            m = re.search(r"(?:Compiling entry function|Function properties for) '?(\S+?)'?(?: for|$)", line)
            if m:
                current = m.group(1)
                out.setdefault(current, {})
                continue
            if current is None:
                continue
            m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
            if m:
                out[current].update(stack=int(m.group(1)), spill_stores=int(m.group(2)),
                                    spill_loads=int(m.group(3)))
            m = re.search(r"Used (\d+) registers", line)
            if m:
                out[current]["registers"] = int(m.group(1))
                m = re.search(r"(\d+) bytes smem", line)
                out[current]["smem"] = int(m.group(1)) if m else 0
    return out


def main(argv):
    if len(argv) != 5:
        raise SystemExit(__doc__)
    ptx_path, ptxas, arch, output = argv[1:]
    ptxas_path = output + ".ptxas.txt"
    report = subprocess.run([ptxas, "-v", "-arch=" + arch, ptx_path, "-o", output + ".cubin"],
                            capture_output=True, text=True)
    with open(ptxas_path, "w") as f:
        f.write(report.stdout + report.stderr)
    if report.returncode != 0:
        raise SystemExit(f"{ptxas} failed on {ptx_path}:\n{report.stderr}")
    with open(ptx_path) as f:
        lines = f.read().split("\n")
    analysis = Analysis(read_files(lines), read_strings(lines))
    resources = read_ptxas(ptxas_path)
    rows = []
    for kernel in split_kernels(lines):
        m = KERNEL_NAME.search(kernel.name)
        if not m:
            continue
        if kernel.name not in resources or "registers" not in resources[kernel.name]:
            raise SystemExit(f"{ptxas_path}: no resource line for {kernel.name}")
        buckets, total = analyse(kernel, analysis, int(m.group(2)))
        res = resources[kernel.name]
        real = "float" if m.group(1) == "f" else "double"
        entries = ",\n".join(f'       {{"{p}", "{w}", "{t}", {n}}}' for (p, w, t), n in sorted(buckets.items()))
        rows.append(f'  {{"{real}", {m.group(2)}, "{kernel.name}", {res["registers"]}, {res["spill_stores"]}, '
                    f'{res["spill_loads"]}, {res["stack"]}, {res["smem"]}, {total},\n'
                    f'   {{\n{entries}}}}}')
    with open(output, "w") as f:
        f.write("// Generated by scripts/ptx_static.py from the PTX of cuda/fused_sgd.cu and\n"
                "// ptxas -v (the build's flags). Do not edit.\n")
        f.write("{\n" + ",\n".join(rows) + "}\n")


if __name__ == "__main__":
    main(sys.argv)
