#!/usr/bin/env bash
# Packs what scripts/device_check.sh needs on a lent GPU machine (the `device` tool), whose image
# has neither Node nor a Vulkan loader, into .device/ (git-ignored; name it in the run's `carry`):
#   node.xz          this machine's node binary
#   modules.tar.xz   node_modules without what the check never loads (TF.js, TypeScript, Dawn's
#                    builds for other platforms), so that the carried tree stays under 64 MiB
#   gl/*.deb         the Vulkan loader (libvulkan1), downloaded for amd64 from this machine's apt sources
# Run it here, as root, after `bash scripts/setup.sh`; about a minute on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/webgpu ] || { echo "device_pack: run bash scripts/setup.sh first" >&2; exit 1; }
rm -rf .device
mkdir -p .device/gl /tmp/device-apt/partial
xz -T0 -6 -c "$(command -v node)" >.device/node.xz
tar -cf - \
  --exclude='node_modules/@tensorflow' --exclude='node_modules/@typescript' --exclude='node_modules/typescript' \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/webgpu/dist/win32-*' \
  node_modules | xz -T0 -6 >.device/modules.tar.xz
apt=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/device-apt)
apt-get "${apt[@]}" update -qq
(cd .device/gl && apt-get "${apt[@]}" download -qq libvulkan1)
du -sh .device/* .device/gl/*
