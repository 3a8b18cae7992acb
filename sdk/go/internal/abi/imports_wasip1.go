//go:build wasip1

package abi

// The host's functions, as the canonical ABI lowers them to core WebAssembly: records too
// large for parameters are passed by address, multi-value results come back in a return
// area the caller provides.

//go:wasmimport loadwright:scenario/http@0.2.0 send
func HTTPSend(request, ret uint32)

//go:wasmimport loadwright:scenario/http@0.2.0 batch
func HTTPBatch(requests, count, ret uint32)

//go:wasmimport loadwright:scenario/http@0.2.0 clear-cookies
func HTTPClearCookies()

//go:wasmimport loadwright:scenario/vu@0.2.0 id
func VUID() uint32

//go:wasmimport loadwright:scenario/vu@0.2.0 iteration
func VUIteration() uint64

//go:wasmimport loadwright:scenario/vu@0.2.0 scenario
func VUScenario(ret uint32)

//go:wasmimport loadwright:scenario/vu@0.2.0 sleep
func VUSleep(nanos uint64)

//go:wasmimport loadwright:scenario/vu@0.2.0 parameter
func VUParameter(key, keyLen, ret uint32)

//go:wasmimport loadwright:scenario/vu@0.2.0 parameters
func VUParameters(ret uint32)

//go:wasmimport loadwright:scenario/vu@0.2.0 setup-data
func VUSetupData(ret uint32)

//go:wasmimport loadwright:scenario/vu@0.2.0 log
func VULog(level, message, messageLen uint32)

//go:wasmimport loadwright:scenario/metrics@0.2.0 counter-add
func MetricsCounterAdd(name, nameLen uint32, value float64, tags, tagsLen uint32)

//go:wasmimport loadwright:scenario/metrics@0.2.0 gauge-set
func MetricsGaugeSet(name, nameLen uint32, value float64, tags, tagsLen uint32)

//go:wasmimport loadwright:scenario/metrics@0.2.0 rate-add
func MetricsRateAdd(name, nameLen, sample, tags, tagsLen uint32)

//go:wasmimport loadwright:scenario/metrics@0.2.0 trend-add
func MetricsTrendAdd(name, nameLen uint32, value float64, tags, tagsLen uint32)

//go:wasmimport loadwright:scenario/metrics@0.2.0 check
func MetricsCheck(name, nameLen, ok, tags, tagsLen uint32) uint32

//go:wasmimport loadwright:scenario/stats@0.2.0 snapshot
func StatsSnapshot(ret uint32)
