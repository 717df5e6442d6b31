#!/bin/sh
# Installs the Debian packages fanin needs when they are missing: a library is missing when
# pkg-config cannot find it, a data set when its folder is absent. Says what it does.
set -eu

missing=""
need_pc() { pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"; }
need_file() { [ -e "$1" ] || missing="$missing $2"; }
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing="$missing $2"; }

need_cmd cmake cmake
need_cmd cc gcc
need_cmd pkg-config pkg-config
need_pc yaml-0.1 libyaml-dev
need_pc openblas libopenblas-dev
need_pc zlib zlib1g-dev
need_pc hdf5-serial libhdf5-dev # the hdf5 data source (Debian's serial libhdf5)
need_pc cmocka libcmocka-dev
# MPI sweeps (docs/cluster.md): OpenMPI's library and mpirun
need_pc ompi-c libopenmpi-dev
need_cmd mpirun openmpi-bin
# the Slurm test (tests/test_slurm.sh) starts a one-node cluster: munged, slurmctld, slurmd
need_file /usr/sbin/slurmctld slurm-wlm
need_file /usr/sbin/munged munge
need_file /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz dataset-fashion-mnist
# the Python package's tests (tests/python, run with /usr/bin/python3): numpy and PyTorch
need_py() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1 || missing="$missing $2"; }
need_py numpy python3-numpy
need_py torch python3-torch
# only for the report render test (tests/test_report.c skips without it; .ci/run installs it):
# FANIN_DEPS_CHROMIUM=1
if [ "${FANIN_DEPS_CHROMIUM:-0}" = 1 ]; then need_cmd chromium chromium; fi
# only for `make fuzz` (FANIN_DEPS_FUZZ=1): clang and its libFuzzer/sanitizer runtimes
if [ "${FANIN_DEPS_FUZZ:-0}" = 1 ]; then
    need_cmd clang-14 clang-14
    ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
        missing="$missing libclang-rt-14-dev"
fi
# only for `make bench` (FANIN_DEPS_BENCH=1): FANN, the third peer on the `tiny` benchmark
if [ "${FANIN_DEPS_BENCH:-0}" = 1 ]; then need_file /usr/include/floatfann.h libfann-dev; fi
# only for .ci/run (FANIN_DEPS_CI=1): valgrind for the memcheck run, clang-format for the
# formatting check
if [ "${FANIN_DEPS_CI:-0}" = 1 ]; then
    need_cmd valgrind valgrind
    need_cmd clang-format clang-format
fi

if [ -z "$missing" ]; then
    echo "deps: all packages present"
    exit 0
fi
echo "deps: installing missing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "deps: apt-get update failed; trying with the cached lists"
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
