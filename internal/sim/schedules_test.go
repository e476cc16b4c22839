//go:build !race

package sim

// defaultSchedules is how many schedules TestSim runs by default.
const defaultSchedules = 1000
