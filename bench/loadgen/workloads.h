// The relay workloads B1-B5 (bench/README.md). Each starts its own relay (and, for B2, the raw
// floor), drives it with the load generator, stops everything it started and returns its JSON
// line. Counts and time limits come from VEIL_BENCH_B<n>_* environment variables.
#pragma once

#include "support/json_line.h"

namespace veil::bench {

JsonLine run_b1_idle_connections();
JsonLine run_b2_one_to_one();
// B2 over two veil-relay nodes on one PostgreSQL and one Redis (the tests' throwaway servers,
// scripts/test-postgres.sh and test-redis.sh): every sender on node a, every receiver on b.
JsonLine run_b2_two_nodes();
JsonLine run_b3_fan_out();
JsonLine run_b4_offline_drain();
JsonLine run_b5_reconnect_storm();
// B9: a real `veil` profile catching up on 100,000 queued messages from 50 peers and groups.
JsonLine run_b9_client_catchup();

} // namespace veil::bench
