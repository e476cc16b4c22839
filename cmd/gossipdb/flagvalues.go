package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// wantError is the error of a flag value that does not parse or is out of
// range: it says what the flag wants, and flagError shows it as it is.
type wantError string

func (w wantError) Error() string { return string(w) }

// countFlag is a flag of a whole number from 1 to max.
type countFlag struct {
	n   int
	max int
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

// sizeFlag is a flag of a size in bytes, from 1 to max, written as parseSize
// reads it.
type sizeFlag struct {
	n   int64
	max int64
}

func (f *sizeFlag) String() string { return formatSize(f.n) }

func (f *sizeFlag) Set(s string) error {
	n, ok := parseSize(s)
	if !ok {
		return wantError(wantSize)
	}
	if n < 1 || n > f.max {
		return wantError(fmt.Sprintf("want a size from 1B to %s", formatSize(f.max)))
	}
	f.n = n
	return nil
}

// Type names the flag's values in the help.
func (f *sizeFlag) Type() string { return "size" }

// durationFlag is a flag of a Go duration (time.ParseDuration), more than 0
// and at most max.
type durationFlag struct {
	d   time.Duration
	max time.Duration
}

func (f *durationFlag) String() string { return f.d.String() }

func (f *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 || d > f.max {
		return wantError(fmt.Sprintf("want a duration such as 30s, 5m or 1h30m, more than 0 and at most %v", f.max))
	}
	f.d = d
	return nil
}

// Type names the flag's values in the help.
func (f *durationFlag) Type() string { return "duration" }

// sizeUnit returns the bytes of the unit of a size named name, in lower case:
// decimal units (kB, MB) and binary ones (KiB, MiB), as disks and memory count
// them; "" and "b" are bytes.
func sizeUnit(name string) (int64, bool) {
	switch name {
	case "", "b":
		return 1, true
	case "kb":
		return 1e3, true
	case "mb":
		return 1e6, true
	case "gb":
		return 1e9, true
	case "kib":
		return 1 << 10, true
	case "mib":
		return 1 << 20, true
	case "gib":
		return 1 << 30, true
	}
	return 0, false
}

// wantSize says what a size is, for the errors of parseSize.
const wantSize = "want a whole number of bytes, with an optional unit B, KB, MB, GB, KiB, MiB or GiB, such as 16MiB"

// parseSize reads a size in bytes: a whole number followed by an optional
// unit of sizeUnit, in any case ("16MiB", "16 mib", "500KB", "1048576"). A
// size beyond an int64 is math.MaxInt64. It reports whether s is a size.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	digits := len(s) - len(strings.TrimLeft(s, "0123456789"))
	if digits == 0 {
		return 0, false
	}
	unit, ok := sizeUnit(strings.ToLower(strings.TrimSpace(s[digits:])))
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s[:digits], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return math.MaxInt64, true // only a range error is left: all digits
	}
	return n * unit, true
}

// formatSize writes n bytes as parseSize reads them, in the largest binary
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
