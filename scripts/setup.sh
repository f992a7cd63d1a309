#!/usr/bin/env bash
# Sets up a fresh clone: a Vulkan driver Dawn can use (Mesa lavapipe, software Vulkan, on Debian
# machines without a GPU) and the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian bookworm's own mesa-vulkan-drivers (22.x) lacks a feature Dawn needs; bookworm-backports (25.x) works.
mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true; }
if [ -f /etc/debian_version ] && [ "$(id -u)" = 0 ]; then
  if ! dpkg --compare-versions "$(mesa_version)" ge 23 2>/dev/null; then
    if [ -f /etc/apt/sources.list.d/debian.sources ] && [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
      # Derive the backports suite from the machine's own source entry, so no mirror is named here.
      awk 'BEGIN{RS="";ORS="\n\n"} NR==1{sub(/Suites:[^\n]*/,"Suites: bookworm-backports"); print}' \
        /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/backports.sources
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
  fi
elif [ ! -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  echo "setup: not root on Debian; make sure a Vulkan driver (GPU or Mesa lavapipe >= 23) is installed" >&2
fi

# lavapipe maps memory for every live descriptor set, and Dawn frees a bind group's set only when
# V8 collects the bind group, which can be late: long GPU test runs then pass Linux's default
# limit of 65,530 memory maps and crash inside vkAllocateDescriptorSets. Raise it where we may.
if [ "$(id -u)" = 0 ] && [ "$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)" -lt 1048576 ]; then
  sysctl -q -w vm.max_map_count=1048576 2>/dev/null || echo "setup: could not raise vm.max_map_count (long WebGPU runs on lavapipe may crash)" >&2
fi

npm ci --no-audit --no-fund --loglevel=error
