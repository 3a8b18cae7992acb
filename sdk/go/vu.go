package loadwright

import (
	"fmt"
	"time"
)

// ID is this VU's number, from 1 (0 in the test instance).
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

// Param is a run parameter (`--param key=value`, a plan's `params`).
func Param(key string) (string, bool) { return host.parameter(key) }

// Params are every run parameter.
func Params() map[string]string {
	params := map[string]string{}
	for _, p := range host.parameters() {
		params[p[0]] = p[1]
	}
	return params
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
