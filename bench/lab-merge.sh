#!/bin/sh
# What bench/boot.sh keeps of one L1 boot's "bench: " lines (stdin, escapes
# already removed): the lines of every unit that ended ("bench: unit NAME"
# ... "bench: unit-end NAME"), "bench: done", and, when FIRST is 1 (the
# first L1 boot of a lab run), the lines outside units (the L1 and version
# header). A unit cut short by a dying L1 leaves nothing: it runs again,
# whole, in the next L1.
#   bench/lab-merge.sh FIRST <LINES
exec awk -v first="${1:?usage: lab-merge.sh FIRST <LINES}" '
	$1 != "bench:" { next }
	$2 == "unit" { u = $3; buf = $0 "\n"; next }
	$2 == "unit-end" { if ($3 == u) printf "%s%s\n", buf, $0; u = ""; next }
	u != "" { buf = buf $0 "\n"; next }
	$2 == "done" || first == 1 { print }'
