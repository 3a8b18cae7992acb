package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// Snapshot is the run's cumulative statistics at a moment (times in milliseconds, elapsed
// in nanoseconds).
type Snapshot = abi.Snapshot

// TrendStats summarizes a distribution.
type TrendStats = abi.TrendStats

// RequestStats are one request row's figures.
type RequestStats = abi.RequestStats

// Stats is the run's statistics now, as every VU sees them.
func Stats() Snapshot { return host.snapshot() }
