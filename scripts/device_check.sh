#!/usr/bin/env bash
# The GPU check, in one call of the `device` tool on a lent machine, from the files
# scripts/device_pack.sh packed into .device/ (carried):
#   run: command "bash scripts/device_check.sh", carry [".device"], timeout_s 540
# Installs the Vulkan loader and Node there, names the adapter Dawn picks, runs every test with
# the WebGPU suites required, then `bench:kernels --quick` (TF.js is not carried: its peers are
# listed as unavailable). Logs, the test results and bench/results/kernels.json land in $OUT.
# Here (no $OUT) it writes to /tmp/device-check and uses the machine's own loader, if any.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
[ -f .device/node.xz ] && [ -f .device/modules.tar.xz ] || { echo "device_check: no .device/ (run scripts/device_pack.sh and carry .device)" >&2; exit 1; }

if ! ldconfig -p | grep -q 'libvulkan\.so\.1'; then
  for f in .device/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The lent machines keep NVIDIA's Vulkan driver manifest here (the device tool's README).
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nvidia_icd" ] && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then export VK_DRIVER_FILES=$nvidia_icd; fi

mkdir -p /tmp/device-node/bin
xz -dc .device/node.xz >/tmp/device-node/bin/node
chmod +x /tmp/device-node/bin/node
export PATH=/tmp/device-node/bin:$PATH
[ -d node_modules ] || tar -xJf .device/modules.tar.xz
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} BACKPROPAMINE_REQUIRE_WEBGPU=1

{
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  node --input-type=module -e '
    const { create, globals } = await import("webgpu");
    Object.assign(globalThis, globals);
    const adapter = await create([]).requestAdapter();
    const i = adapter?.info;
    console.log(adapter ? `Dawn adapter: ${i.vendor} ${i.architecture} ${i.device} ${i.description}` : "Dawn: no adapter");
    process.exit(0);'
} 2>&1 | tee "$out/adapter.txt"

# No npm there (only the node binary travels): vitest and the bench run through node itself.
timeout 200 node node_modules/vitest/vitest.mjs run >"$out/tests.txt" 2>&1
echo "tests exit $?" | tee -a "$out/tests.txt"
cp .build/test-results.json "$out/" 2>/dev/null
grep -E 'Test Files|Tests ' "$out/tests.txt"

timeout 260 node scripts/run.mjs bench/kernels.bench.ts --quick >"$out/kernels.txt" 2>&1
echo "bench exit $?" | tee -a "$out/kernels.txt"
cp bench/results/kernels.json "$out/" 2>/dev/null
sed -n '/^targets/,/^wrote/p' "$out/kernels.txt"
