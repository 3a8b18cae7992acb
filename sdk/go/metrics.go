package loadwright

import "github.com/loadwright/loadwright/sdk/go/internal/abi"

// Tag is a key-value label on a sample.
type Tag = abi.Tag

// Check records a named check that passed or failed and returns ok.
func Check(name string, ok bool, tags ...Tag) bool { return host.check(name, ok, tags) }

// CounterAdd adds value to counter name.
func CounterAdd(name string, value float64, tags ...Tag) { host.counterAdd(name, value, tags) }

// GaugeSet sets gauge name to value.
func GaugeSet(name string, value float64, tags ...Tag) { host.gaugeSet(name, value, tags) }

// RateAdd adds a sample (true or false) to rate name.
func RateAdd(name string, sample bool, tags ...Tag) { host.rateAdd(name, sample, tags) }

// TrendAdd adds value to trend name (percentiles in the summary).
func TrendAdd(name string, value float64, tags ...Tag) { host.trendAdd(name, value, tags) }
