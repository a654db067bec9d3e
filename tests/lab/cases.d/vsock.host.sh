# Staged on the host for cases.d/vsock.sh (sourced by tests/lab/run.sh): the
# host end of the hybrid-vsock protocol over AF_UNIX (busybox nc has no unix
# sockets), built static from tests/lab/uds-echo.c.
gcc -static -O2 -Wall -Wextra -Werror -o "$stage/lab/uds-echo" "$here/uds-echo.c"
