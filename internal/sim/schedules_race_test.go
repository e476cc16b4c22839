//go:build race

package sim

// defaultSchedules is how many schedules TestSim runs by default: fewer under
// the race detector, which slows them 5 to 10 times (CI runs the full number
// without it, see .ci/run).
const defaultSchedules = 100
