package main

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb/internal/graphql"
	"github.com/gossipdb/gossipdb/internal/httpapi"
)

// TestGraphQLLimitFlagErrors: a --graphql-* value that does not parse, is
// zero or negative, or is over the limit's ceiling is refused at start with an
// error that names the flag and says what it wants, before anything is made.
func TestGraphQLLimitFlagErrors(t *testing.T) {
	const (
		count    = "want a whole number from 1 to "
		size     = wantSize
		sizes    = "want a size from 1B to 1GiB"
		duration = "want a duration such as 30s, 5m or 1h30m, more than 0 and at most 1h0m0s"
	)
	checkFlagErrors(t, []flagErrorCase{
		{flagGraphQLMaxDepth, "0", count + "128"},
		{flagGraphQLMaxDepth, "-1", count + "128"},
		{flagGraphQLMaxDepth, "129", count + "128"},
		{flagGraphQLMaxDepth, "deep", count + "128"},
		{flagGraphQLMaxDepth, "1.5", count + "128"},
		{flagGraphQLMaxFields, "0", count + "100000"},
		{flagGraphQLMaxFields, "100001", count + "100000"},
		{flagGraphQLMaxFields, "99999999999999999999999", count + "100000"},
		{flagGraphQLMaxResultSize, "0", sizes},
		{flagGraphQLMaxResultSize, "0MiB", sizes},
		{flagGraphQLMaxResultSize, "1025MiB", sizes},
		{flagGraphQLMaxResultSize, "2GB", sizes},
		{flagGraphQLMaxResultSize, "4PiB", sizes},
		{flagGraphQLMaxResultSize, "99999999999999999999999GiB", size}, // past any uint64
		{flagGraphQLMaxResultSize, "-1", size},
		{flagGraphQLMaxResultSize, "16 MiBs", size},
		{flagGraphQLMaxResultSize, "MiB", size},
		{flagGraphQLMaxResultSize, "", size},
		{flagGraphQLMaxDuration, "0s", duration},
		{flagGraphQLMaxDuration, "-1s", duration},
		{flagGraphQLMaxDuration, "61m", duration},
		{flagGraphQLMaxDuration, "30", duration},
		{flagGraphQLMaxDuration, "forever", duration},
	})
}

// flagErrorCase is a value of a flag of start that is refused, and what its
// error says the flag wants.
type flagErrorCase struct{ flag, value, want string }

// checkFlagErrors checks that start refuses each case's value, before it
// makes anything, with an error that names the flag and says what it wants.
func checkFlagErrors(t *testing.T, cases []flagErrorCase) {
	t.Helper()
	for _, tc := range cases {
		// A value taken by mistake starts a node, which then stops at once.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		args := []string{"start", "--rootdir", dir, "--url", "127.0.0.1:0", "--" + tc.flag + "=" + tc.value}
		want := `Error: invalid argument "` + tc.value + `" for --` + tc.flag + ": " + tc.want + "\n"
		if code := run(ctx, args, e); code != 1 || stderr.String() != want {
			t.Errorf("--%s=%s: exit %d, stderr %q; want 1 and %q", tc.flag, tc.value, code, stderr.String(), want)
		}
	}
}

// TestGraphQLLimitFlagValues: the values the --graphql-* flags take, as
// graphql.Limits, and the config.json that keeps them: only those that are
// not their defaults.
func TestGraphQLLimitFlagValues(t *testing.T) {
	defaults := graphql.Limits{MaxDepth: graphql.DefaultMaxDepth, MaxFields: graphql.DefaultMaxFields,
		MaxResultSize: graphql.DefaultMaxResultSize, MaxDuration: graphql.DefaultMaxDuration}
	checkFlagDefaults(t, map[string]string{
		flagGraphQLMaxDepth: "16", flagGraphQLMaxFields: "1000", flagGraphQLMaxResultSize: "4MiB", flagGraphQLMaxDuration: "30s",
	})
	cases := []flagValuesCase[graphql.Limits]{
		{nil, defaults, config{}},
		{[]string{"--graphql-max-depth", "128", "--graphql-max-fields", "100000", "--graphql-max-result-size", "1GiB",
			"--graphql-max-duration", "1h"},
			graphql.Limits{MaxDepth: 128, MaxFields: 100_000, MaxResultSize: 1 << 30, MaxDuration: time.Hour},
			config{GraphQLMaxDepth: 128, GraphQLMaxFields: 100_000, GraphQLMaxResultSize: "1GiB", GraphQLMaxDuration: "1h0m0s"}},
		{[]string{"--graphql-max-depth=1", "--graphql-max-fields=1", "--graphql-max-result-size=1", "--graphql-max-duration=1ns"},
			graphql.Limits{MaxDepth: 1, MaxFields: 1, MaxResultSize: 1, MaxDuration: time.Nanosecond},
			config{GraphQLMaxDepth: 1, GraphQLMaxFields: 1, GraphQLMaxResultSize: "1B", GraphQLMaxDuration: "1ns"}},
		{[]string{"--graphql-max-result-size", "16 mib", "--graphql-max-duration", "90s"},
			graphql.Limits{MaxDepth: 16, MaxFields: 1000, MaxResultSize: 16 << 20, MaxDuration: 90 * time.Second},
			config{GraphQLMaxResultSize: "16MiB", GraphQLMaxDuration: "1m30s"}},
		{[]string{"--graphql-max-result-size", "5MB"},
			graphql.Limits{MaxDepth: 16, MaxFields: 1000, MaxResultSize: 5_000_000, MaxDuration: 30 * time.Second},
			config{GraphQLMaxResultSize: "5000000B"}},
		// A flag given its default is not kept: the node follows the default.
		{[]string{"--graphql-max-result-size", "4194304", "--graphql-max-depth", "16"}, defaults, config{}},
	}
	checkFlagValues(t, cases, (*startFlags).graphqlLimits, func(c config) config {
		return config{GraphQLMaxDepth: c.GraphQLMaxDepth, GraphQLMaxFields: c.GraphQLMaxFields,
			GraphQLMaxResultSize: c.GraphQLMaxResultSize, GraphQLMaxDuration: c.GraphQLMaxDuration}
	})
}

// flagValuesCase is a command line of start, the settings it gives, and what
// config.json keeps of them.
type flagValuesCase[T any] struct {
	args []string
	want T
	kept config
}

// checkFlagValues checks, for each case, the settings that settings reads
// from the flags its command line gives, what of them config.json keeps (kept
// picks them from the whole config.json), and that what it keeps reads back,
// at the next start without the flags, as the same settings.
func checkFlagValues[T any](t *testing.T, cases []flagValuesCase[T], settings func(*startFlags) T, kept func(config) config) {
	t.Helper()
	for _, tc := range cases {
		f, _ := parseStartFlags(t, tc.args)
		if got := settings(f); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.args, got, tc.want)
		}
		c := kept(f.config())
		if fmt.Sprint(c) != fmt.Sprint(tc.kept) {
			t.Errorf("%q: config.json keeps %+v, want %+v", tc.args, c, tc.kept)
		}
		dir := t.TempDir()
		if err := writeConfig(dir, c); err != nil {
			t.Fatal(err)
		}
		back, cmd := parseStartFlags(t, nil)
		back.rootdir = dir
		if err := back.resolve(cmd); err != nil {
			t.Fatalf("%q: reading back config.json: %v", tc.args, err)
		}
		if got := settings(back); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: read back from config.json %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// checkFlagDefaults checks the default that `gossipdb start --help` shows
// for each flag of want.
func checkFlagDefaults(t *testing.T, want map[string]string) {
	t.Helper()
	cmd := newStartCmd(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }})
	for flag, def := range want {
		if got := cmd.Flag(flag).DefValue; got != def {
			t.Errorf("--%s defaults to %q, want %q", flag, got, def)
		}
	}
}

// parseStartFlags returns the settings of `gossipdb start` that args give,
// and a command whose flags parsed them.
func parseStartFlags(t *testing.T, args []string) (*startFlags, *cobra.Command) {
	t.Helper()
	f := newStartFlags()
	cmd := &cobra.Command{}
	f.register(cmd.Flags())
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return f, cmd
}

// TestSizeFlag: a size flag takes a number of bytes with go-humanize's
// units, within its range, and takes back what it writes.
func TestSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "1B": 1, "1 b": 1, "1500": 1500, "16MiB": 16 << 20, "16 mib": 16 << 20, "500KB": 500_000,
		"500kb": 500_000, "2MB": 2_000_000, "1GB": 1_000_000_000, "3KiB": 3 << 10, "1GiB": 1 << 30, " 7 ": 7,
	} {
		f := sizeFlag{max: 1 << 30}
		if err := f.Set(in); err != nil || f.n != want {
			t.Errorf("Set(%q): %d, %v; want %d", in, f.n, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "+1", "0", "1 MiBs", "0x10", "1GiB1", "2GiB", "99999999999999999999", "9999999999999GiB"} {
		f := sizeFlag{n: 5, max: 1 << 30}
		if err := f.Set(in); err == nil || f.n != 5 {
			t.Errorf("Set(%q): %d, %v; want an error and the value kept", in, f.n, err)
		}
	}
	for n, want := range map[int64]string{1: "1B", 1500: "1500B", 1024: "1KiB", 4 << 20: "4MiB", 1 << 30: "1GiB",
		3 << 30: "3GiB", 1<<20 + 1<<10: "1025KiB", 5_000_000: "5000000B"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
		f := sizeFlag{max: 4 << 30}
		if err := f.Set(formatSize(n)); err != nil || f.n != n {
			t.Errorf("Set(formatSize(%d)): %d, %v", n, f.n, err)
		}
	}
}

// TestAPIBudgetFlagErrors: an --api-* value that does not parse, or is out of
// its range (under its floor, over its ceiling), is refused at start with an
// error that names the flag and says what it wants.
func TestAPIBudgetFlagErrors(t *testing.T) {
	const (
		body     = "want a size from 4MiB to 1GiB"
		answer   = "want a size from 64KiB to 1GiB"
		event    = answer
		duration = "want a duration such as 30s, 5m or 1h30m, at least 1s and at most 10m0s"
	)
	checkFlagErrors(t, []flagErrorCase{
		{flagAPIBodyBudget, "0", body},
		{flagAPIBodyBudget, "1MiB", body},
		{flagAPIBodyBudget, "4194303", body},
		{flagAPIBodyBudget, "1025MiB", body},
		{flagAPIBodyBudget, "big", wantSize},
		{flagAPIBodyBudget, "-4MiB", wantSize},
		{flagAPIAnswerBudget, "0", answer},
		{flagAPIAnswerBudget, "64000", answer},
		{flagAPIAnswerBudget, "2GiB", answer},
		{flagAPIAnswerBudget, "", wantSize},
		{flagAPIEventBudget, "1", event},
		{flagAPIEventBudget, "63KiB", event},
		{flagAPIEventBudget, "1.5GiB", event},
		{flagAPIBodyReadTimeout, "0s", duration},
		{flagAPIBodyReadTimeout, "-1s", duration},
		{flagAPIBodyReadTimeout, "999ms", duration},
		{flagAPIBodyReadTimeout, "11m", duration},
		{flagAPIBodyReadTimeout, "30", duration},
	})
}

// TestAPIBudgetFlagValues: the values the --api-* flags take, as
// httpapi.Options, and the config.json that keeps them: only those that are
// not their defaults.
func TestAPIBudgetFlagValues(t *testing.T) {
	defaults := httpapi.Options{BodyBudget: httpapi.DefaultBodyBudget, AnswerBudget: httpapi.DefaultAnswerBudget,
		BodyReadTimeout: httpapi.DefaultBodyReadTimeout, EventBudget: httpapi.DefaultEventBudget}
	checkFlagDefaults(t, map[string]string{
		flagAPIBodyBudget: "16MiB", flagAPIAnswerBudget: "64MiB", flagAPIBodyReadTimeout: "30s", flagAPIEventBudget: "64MiB",
	})
	cases := []flagValuesCase[httpapi.Options]{
		{nil, defaults, config{}},
		{[]string{"--api-body-budget", "4MiB", "--api-answer-budget", "64KiB", "--api-body-read-timeout", "1s",
			"--api-event-budget", "65536"},
			httpapi.Options{BodyBudget: 4 << 20, AnswerBudget: 64 << 10, BodyReadTimeout: time.Second, EventBudget: 64 << 10},
			config{APIBodyBudget: "4MiB", APIAnswerBudget: "64KiB", APIBodyReadTimeout: "1s", APIEventBudget: "64KiB"}},
		{[]string{"--api-body-budget=1GiB", "--api-answer-budget=1GiB", "--api-body-read-timeout=10m", "--api-event-budget=1GiB"},
			httpapi.Options{BodyBudget: 1 << 30, AnswerBudget: 1 << 30, BodyReadTimeout: 10 * time.Minute, EventBudget: 1 << 30},
			config{APIBodyBudget: "1GiB", APIAnswerBudget: "1GiB", APIBodyReadTimeout: "10m0s", APIEventBudget: "1GiB"}},
		{[]string{"--api-answer-budget", "256 mib", "--api-body-read-timeout", "90s"},
			httpapi.Options{BodyBudget: 16 << 20, AnswerBudget: 256 << 20, BodyReadTimeout: 90 * time.Second, EventBudget: 64 << 20},
			config{APIAnswerBudget: "256MiB", APIBodyReadTimeout: "1m30s"}},
		// A flag given its default is not kept: the node follows the default.
		{[]string{"--api-body-budget", "16777216", "--api-event-budget", "64MiB", "--api-body-read-timeout", "0.5m"}, defaults, config{}},
	}
	checkFlagValues(t, cases, (*startFlags).apiBudgets, func(c config) config {
		return config{APIBodyBudget: c.APIBodyBudget, APIAnswerBudget: c.APIAnswerBudget,
			APIBodyReadTimeout: c.APIBodyReadTimeout, APIEventBudget: c.APIEventBudget}
	})
}
