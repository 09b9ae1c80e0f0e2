#!/bin/bash -eu
# ClusterFuzzLite entry point: the project build script does the work.
exec "$SRC/smtp/fuzz/build.sh"
