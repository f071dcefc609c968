// Package perf holds Sportello's performance benchmarks: API creation
// throughput against a bare "floor" endpoint on the same engine, and read
// latencies on a large generated database. See docs/performance.md.
package perf
