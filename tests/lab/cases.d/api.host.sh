# shellcheck shell=bash disable=SC2154 # $stage, $here: tests/lab/run.sh
# Staged on the host for cases.d/api.sh (sourced by tests/lab/run.sh): the
# HTTP client for Firecracker's API socket (busybox has none that speaks
# AF_UNIX), built static from tests/lab/fcreq.c, and /lab/firecracker, a
# symlink to ember: started under that name, ember is its Firecracker front
# end, as Kata Containers and firecracker-containerd start it.
gcc -static -O2 -Wall -Wextra -Werror -o "$stage/lab/fcreq" "$here/fcreq.c"
ln -sf ember "$stage/lab/firecracker"
