package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// wantError is the error of a flag value that does not parse or is out of
// range: it says what the flag wants, and flagError shows it as it is.
type wantError string

func (w wantError) Error() string { return string(w) }

// countFlag is a flag of a whole number from 1 to max, whose default is def.
type countFlag struct {
	n   int
	def int
	max int
}

// newCountFlag returns a countFlag set to its default.
func newCountFlag(def, max int) countFlag { return countFlag{n: def, def: def, max: max} }

// kept returns the value config.json keeps: none (0) when it is the default,
// so that the node follows the default if it changes.
func (f *countFlag) kept() int {
	if f.n == f.def {
		return 0
	}
	return f.n
}

func (f *countFlag) String() string { return strconv.Itoa(f.n) }

func (f *countFlag) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > f.max {
		return wantError(fmt.Sprintf("want a whole number from 1 to %d", f.max))
	}
	f.n = n
	return nil
}

// Type names the flag's values in the help.
func (f *countFlag) Type() string { return "int" }

// sizeFlag is a flag of a size in bytes, from min (1 when min is 0) to max,
// written as go-humanize reads it: a number and an optional unit, decimal (KB,
// MB, GB) or binary (KiB, MiB, GiB), in any case; its default is def.
type sizeFlag struct {
	n   int64
	def int64
	min int64
	max int64
}

// newSizeFlag returns a sizeFlag set to its default.
func newSizeFlag(def, min, max int64) sizeFlag { return sizeFlag{n: def, def: def, min: min, max: max} }

// kept returns the value config.json keeps: none ("") when it is the default.
func (f *sizeFlag) kept() string {
	if f.n == f.def {
		return ""
	}
	return f.String()
}

func (f *sizeFlag) String() string { return formatSize(f.n) }

func (f *sizeFlag) Set(s string) error {
	u, err := humanize.ParseBytes(strings.TrimSpace(s))
	if err != nil {
		return wantError(wantSize)
	}
	least := max(f.min, 1)
	if n := int64(min(u, math.MaxInt64)); n < least || n > f.max {
		return wantError(fmt.Sprintf("want a size from %s to %s", formatSize(least), formatSize(f.max)))
	}
	f.n = int64(u)
	return nil
}

// Type names the flag's values in the help.
func (f *sizeFlag) Type() string { return "size" }

// durationFlag is a flag of a Go duration (time.ParseDuration), at least min
// (more than 0 when min is 0) and at most max; its default is def.
type durationFlag struct {
	d   time.Duration
	def time.Duration
	min time.Duration
	max time.Duration
}

// newDurationFlag returns a durationFlag set to its default.
func newDurationFlag(def, min, max time.Duration) durationFlag {
	return durationFlag{d: def, def: def, min: min, max: max}
}

// kept returns the value config.json keeps: none ("") when it is the default.
func (f *durationFlag) kept() string {
	if f.d == f.def {
		return ""
	}
	return f.String()
}

func (f *durationFlag) String() string { return f.d.String() }

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 || d < f.min || d > f.max {
		least := "more than 0"
		if f.min > 0 {
			least = fmt.Sprintf("at least %v", f.min)
		}
		return wantError(fmt.Sprintf("want a duration such as 30s, 5m or 1h30m, %s and at most %v", least, f.max))
	}
	f.d = d
	return nil
}

// Type names the flag's values in the help.
func (f *durationFlag) Type() string { return "duration" }

// wantSize says what a size is, for the errors of sizeFlag.
const wantSize = "want a number of bytes with an optional unit, such as 16MiB, 500KB or 1048576"

// formatSize writes n bytes as sizeFlag reads them, in the largest binary
// unit that divides it: "4MiB", "1500B".
func formatSize(n int64) string {
	for _, u := range []struct {
		name string
		size int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
