package loadwright

import (
	"fmt"
	"time"
)

// ID is this VU's number, from 1 (0 in the test instance); under an execution segment,
// its number in the whole test, unique across the instances.
func ID() uint32 { return host.vuID() }

// Iteration is how many iterations this VU started before the current one.
func Iteration() uint64 { return host.iteration() }

// ScenarioName is the name of the plan's scenario this VU runs.
func ScenarioName() string { return host.scenario() }

// Sleep waits (think time) without holding a thread: the VU is parked in the host.
func Sleep(d time.Duration) {
	if d > 0 {
		host.sleep(uint64(d.Nanoseconds()))
	}
}

// params are the run's parameters, fetched from the host on first use: they are fixed for
// a run.
var params map[string]string

func runParams() map[string]string {
	if params == nil {
		params = map[string]string{}
		for _, p := range host.parameters() {
			params[p[0]] = p[1]
		}
	}
	return params
}

// Param is a run parameter (`--param key=value`, a plan's `params`). Only the first call
// asks the host; later ones read this VU's copy.
func Param(key string) (string, bool) {
	value, ok := runParams()[key]
	return value, ok
}

// Params are every run parameter.
func Params() map[string]string {
	copied := make(map[string]string, len(runParams()))
	for k, v := range runParams() {
		copied[k] = v
	}
	return copied
}

// SetupData is what OnTestStart returned.
func SetupData() []byte { return host.setupData() }

// Level is a log line's severity.
type Level uint32

// The levels, as in wit/vu.wit.
const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

// Log writes a line to the run's log.
func Log(level Level, message string) { host.log(uint32(level), message) }

// Logf writes a formatted line at info level.
func Logf(format string, args ...any) { Log(LevelInfo, fmt.Sprintf(format, args...)) }
