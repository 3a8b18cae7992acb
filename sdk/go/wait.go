package loadwright

import (
	"math/rand/v2"
	"time"
)

// Constant waits d after every task.
func Constant(d time.Duration) func() time.Duration {
	return func() time.Duration { return d }
}

// Between waits a uniformly random time in [min, max] after every task.
func Between(min, max time.Duration) func() time.Duration {
	return func() time.Duration {
		if max <= min {
			return min
		}
		return min + time.Duration(rand.Int64N(int64(max-min)+1))
	}
}
