#!/usr/bin/env bash
# startup-bench.sh — time from `sportello serve` to a healthy /healthz on an
# empty database, and the server's resident memory once idle. Runs N times
# and prints each figure and the median.
#   usage: scripts/startup-bench.sh [BINARY] [RUNS]
set -euo pipefail
BIN="${1:-bin/sportello}"
RUNS="${2:-5}"
PORT=18765
times=(); rss=()
for i in $(seq 1 "$RUNS"); do
	dir=$(mktemp -d)
	start=$(date +%s%N)
	"$BIN" serve --data "$dir" --addr "127.0.0.1:$PORT" 2>/dev/null &
	pid=$!
	until curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; do sleep 0.005; done
	end=$(date +%s%N)
	times+=($(( (end - start) / 1000000 )))
	sleep 3 # idle
	rss+=($(awk '/VmRSS/ {print int($2/1024)}' "/proc/$pid/status"))
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -rf "$dir"
	echo "run $i: healthy after ${times[-1]} ms, idle RSS ${rss[-1]} MB"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: start-up $(median "${times[@]}") ms, idle RSS $(median "${rss[@]}") MB"
