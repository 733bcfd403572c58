#!/usr/bin/env bash
# Installs what building domopt needs on a Debian machine: cmake and a C++ compiler
# for the bundled HiGHS, libclang for highs-sys's bindgen, libfaketime for a service
# test. Idempotent.
set -euo pipefail
need=()
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v c++ >/dev/null 2>&1 || need+=(g++)
# libclang itself (libclang.so / libclang-N.so): libclang-cpp, which some images ship, is
# a different library that bindgen cannot load.
compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null \
  || compgen -G '/usr/lib/*/libclang.so*' >/dev/null \
  || compgen -G '/usr/lib/*/libclang-[0-9]*.so*' >/dev/null \
  || need+=(libclang-dev)
# libfaketime, for the service test that steps the wall clock back.
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || need+=(faketime)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
