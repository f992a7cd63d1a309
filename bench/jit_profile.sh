#!/usr/bin/env bash
# Where lavapipe spends a plastic kernel's time, by machine instruction: runs one case of
# bench/plastic_time.ts in a loop, samples it with perf, disassembles the hottest JIT-compiled code
# from the running process with gdb, and prints its instruction mix, counted and weighted by samples.
# llvmpipe compiles every storage access whose address differs between SIMD lanes into a loop over
# the lanes with a bounds test per component (see shaders/chunk_vec4.wgsl); the mix shows how much
# of a kernel that is next to its vector arithmetic.
#
#   bash bench/jit_profile.sh [fwd|bwd|copy] [BxN] [rule]     (default: bwd 30x200 retroactive)
#
# Needs perf (Debian: linux-perf) and gdb, and the right to trace the process (root, or
# kernel.perf_event_paranoid ≤ 1 and kernel.yama.ptrace_scope 0). About 25 s.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-bwd}
size=${2:-30x200}
rule=${3:-retroactive}
for tool in perf gdb; do
  command -v "$tool" >/dev/null || { echo "jit_profile: needs $tool (apt-get install linux-perf gdb)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
node scripts/run.mjs bench/plastic_time.ts "$size" "$rule" rl --loop "$what" 20 >"$tmp/loop.txt" 2>&1 &
# scripts/run.mjs bundles the bench into .build/ and runs the bundle as its child: that is the one to watch.
for _ in $(seq 200); do
  pid=$(pgrep -n -f '\.build/plastic_time\.mjs' || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "jit_profile: the loop did not start" >&2; cat "$tmp/loop.txt" >&2; exit 1; }
sleep 8 # pipelines compiled, the loop warm
perf record -q -F 4000 -p "$pid" -o "$tmp/perf.data" -- sleep 4 2>/dev/null
# Anonymous executable memory (JIT code: llvmpipe's kernels, V8's) shows as a perf-PID.map "dso".
perf script -i "$tmp/perf.data" -F ip,dso 2>/dev/null >"$tmp/samples.txt"
range=$(node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const ips = readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.includes("perf-")).map((l) => parseInt(l.trim().split(/\s+/)[0], 16));
  const pages = new Map();
  for (const ip of ips) pages.set(Math.floor(ip / 4096), (pages.get(Math.floor(ip / 4096)) ?? 0) + 1);
  const hot = [...pages].filter(([, n]) => n >= 0.02 * ips.length).map(([p]) => p);
  if (!hot.length) process.exit(1);
  console.log((Math.min(...hot) * 4096).toString(16), ((Math.max(...hot) + 1) * 4096).toString(16));
' "$tmp/samples.txt") || { echo "jit_profile: no JIT samples" >&2; exit 1; }
read -r lo hi <<<"$range"
gdb -p "$pid" -batch -ex "x/$(( (0x$hi - 0x$lo) / 2 ))i 0x$lo" 2>/dev/null | grep -E '^ *0x' >"$tmp/code.txt" || true
wait # the loop ends by itself and prints its ms per call
pid=

node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const [samplesFile, codeFile, loopFile, lo, hi, what] = process.argv.slice(1);
  const [start, end] = [parseInt(lo, 16), parseInt(hi, 16)];
  const lines = readFileSync(samplesFile, "utf8").split("\n").filter(Boolean);
  const jit = lines.filter((l) => l.includes("perf-")).map((l) => parseInt(l.trim().split(/\s+/)[0], 16));
  const inHot = jit.filter((ip) => ip >= start && ip < end);
  // One instruction per line: address, then the mnemonic (gdb: "   0x7f..:\tvmulps %ymm1,..."); zero
  // bytes between functions disassemble as "add %al,(%rax)".
  const code = readFileSync(codeFile, "utf8").split("\n").filter((l) => !/add\s+%al,\(%rax\)/.test(l))
    .map((l) => l.match(/^\s*0x([0-9a-f]+)[^:]*:\s+(\S+)/)).filter(Boolean)
    .map((m) => ({ at: parseInt(m[1], 16), op: m[2] })).filter((i) => i.at < end && i.op !== "(bad)");
  const weight = new Map();
  for (const ip of inHot) {
    // a sample belongs to the last instruction starting at or before its address (binary search)
    let [a, b] = [0, code.length - 1];
    if (b < 0 || code[0].at > ip) continue;
    while (a < b) {
      const mid = (a + b + 1) >> 1;
      if (code[mid].at <= ip) a = mid;
      else b = mid - 1;
    }
    weight.set(a, (weight.get(a) ?? 0) + 1);
  }
  const classes = {
    "float vector arithmetic": (op) => /^v(add|sub|mul|div|min|max|fmadd|fmsub|fnmadd|fnmsub|and|andn|or|xor|blendv|cmp\w*)(ps|ss)$/.test(op),
    "bounds tests (jae)": (op) => op === "jae",
    "lane moves (vpinsrd, vpextrd, vextractps, vpblendd, vpbroadcastd, vmovss, vmovd)": (op) => /^(vpinsrd|vpextrd|vextractps|vpblendd|vpbroadcastd|vmovss|vmovd)$/.test(op),
    "scalar integer and branches (mov, cmp, test, or, movslq, sar, j*)": (op) => /^(mov|movslq|cmp|test|or|sar|cltq|add|xor|lea|j\w+)$/.test(op),
  };
  const total = code.length;
  const sampled = inHot.length;
  const pct = (n, of) => (of ? (100 * n / of).toFixed(1) + "%" : "-");
  console.log(readFileSync(loopFile, "utf8").split("\n").filter((l) => l.startsWith(what + ":")).join(""), "(slowed while sampled)");
  console.log(`samples: ${lines.length}, ${pct(jit.length, lines.length)} in JIT code; the hot code 0x${lo}-0x${hi} (${((end - start) / 1024).toFixed(0)} KiB) holds ${pct(sampled, jit.length)} of those and ${total} instructions`);
  // sampled: the share of the samples in the hot code; perf skids, crediting a sample to an
  // instruction after the one that took the time, so cheap branches after slow loads read low.
  console.log("class".padEnd(82), "counted".padStart(8), "sampled".padStart(8));
  for (const [name, test] of Object.entries(classes)) {
    const ks = code.map((i, k) => (test(i.op) ? k : -1)).filter((k) => k >= 0);
    console.log(name.padEnd(82), pct(ks.length, total).padStart(8), pct(ks.reduce((a, k) => a + (weight.get(k) ?? 0), 0), sampled).padStart(8));
  }
  const byOp = new Map();
  code.forEach((i) => byOp.set(i.op, (byOp.get(i.op) ?? 0) + 1));
  console.log("most frequent:", [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([op, n]) => `${op} ${n}`).join(", "));
' "$tmp/samples.txt" "$tmp/code.txt" "$tmp/loop.txt" "$lo" "$hi" "$what"
