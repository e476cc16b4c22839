package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gossipdb/gossipdb"
)

func TestEveryCommandHasExample(t *testing.T) {
	root := newRootCmd(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }})
	var walk func(c *cobra.Command)
	count := 0
	walk = func(c *cobra.Command) {
		count++
		if c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		if c.Short == "" {
			t.Errorf("%q has no Short description", c.CommandPath())
		}
		if c.RunE == nil {
			t.Errorf("%q has no RunE: cobra would print help and exit 0 on an unknown subcommand", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if count < 17 {
		t.Fatalf("found %d commands, want all of them", count)
	}
}

func TestRunErrorsAreOneLine(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"client", "p2p", "nope"}, e); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	want := `Error: unknown command "nope" for "gossipdb client p2p"; see 'gossipdb client p2p --help'` + "\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Fatalf("stderr %q, stdout %q; want %q", stderr.String(), stdout.String(), want)
	}
	if got := errorLine(errors.New("a\n\tb  c")); got != "a b c" {
		t.Fatalf("errorLine gave %q", got)
	}
	if got := errorLine(fmt.Errorf("x: %w", context.Canceled)); got != "interrupted" {
		t.Fatalf("errorLine of a cancellation gave %q", got)
	}
}

// TestFlagValueErrors: a flag value that does not parse is named with what
// the flag wants, not with the Go parser's words (`strconv.ParseBool: parsing
// "maybe": invalid syntax`), which it used to show.
func TestFlagValueErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"start", "--small-memory=maybe"}, `invalid argument "maybe" for --small-memory: want true or false`},
		{[]string{"client", "collection", "changes", "User", "--since", "-1"},
			`invalid argument "-1" for --since: want a whole number from 0 to 18446744073709551615, or now`},
		{[]string{"client", "collection", "changes", "User", "--follow=yes"}, `invalid argument "yes" for --follow: want true or false`},
		{[]string{"client", "p2p", "sync", "User", "--timeout", "soon"},
			`invalid argument "soon" for --timeout: want a duration such as 30s, 5m or 1h30m`},
		{[]string{"start", "--nope"}, `unknown flag: --nope`},
	} {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if code := run(context.Background(), tc.args, e); code != 1 || stderr.String() != "Error: "+tc.want+"\n" {
			t.Errorf("%q: exit %d, stderr %q; want 1 and %q", tc.args, code, stderr.String(), "Error: "+tc.want)
		}
	}
}

func TestClientURLFromEnvironment(t *testing.T) {
	for _, c := range []struct{ env, want string }{{"", defaultURL}, {"localhost:9999", "localhost:9999"}} {
		root := newRootCmd(&env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(k string) string {
			if k == envURL {
				return c.env
			}
			return ""
		}})
		cmd, _, err := root.Find([]string{"client", "p2p", "info"})
		if err != nil {
			t.Fatal(err)
		}
		if got := cmd.Flag("url").DefValue; got != c.want {
			t.Errorf("%s=%q: --url defaults to %q, want %q", envURL, c.env, got, c.want)
		}
	}
}

// TestClientBadURLFromEnvironment: a bad $GOSSIPDB_URL is named in the error,
// not --url, which was not given.
func TestClientBadURLFromEnvironment(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string {
		if k == envURL {
			return "bad url"
		}
		return ""
	}}
	if code := run(context.Background(), []string{"client", "p2p", "info"}, e); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.HasPrefix(stderr.String(), "Error: $"+envURL+": ") {
		t.Fatalf("stderr %q does not name $%s", stderr.String(), envURL)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"client", "p2p", "info", "--url", "bad url"}, e); code != 1 ||
		!strings.HasPrefix(stderr.String(), "Error: --url: ") {
		t.Fatalf("exit %d, stderr %q; want 1 and an error naming --url", code, stderr.String())
	}
}

func TestCheckAPIAddr(t *testing.T) {
	for _, c := range []struct {
		in, want string
		remote   bool
	}{
		{"127.0.0.1:9181", "127.0.0.1:9181", false},
		{"localhost:9182", "localhost:9182", false},
		{"http://localhost:9182", "localhost:9182", false},
		{"[::1]:9181", "[::1]:9181", false},
		{"127.0.0.2:0", "127.0.0.2:0", false},
		{"0.0.0.0:9181", "0.0.0.0:9181", true},
		{":9181", ":9181", true},
		{"db.example:9181", "db.example:9181", true},
	} {
		got, err := checkAPIAddr("--url", c.in, c.remote)
		if err != nil || got != c.want {
			t.Errorf("checkAPIAddr(%q, %v) = %q, %v; want %q", c.in, c.remote, got, err, c.want)
		}
	}
	for _, in := range []string{"0.0.0.0:9181", ":9181", "192.168.1.2:9181", "db.example:9181", "[::]:9181"} {
		if _, err := checkAPIAddr("--url", in, false); err == nil || !strings.Contains(err.Error(), "--allow-remote-api") {
			t.Errorf("checkAPIAddr(%q, false) = %v, want a refusal naming --allow-remote-api", in, err)
		}
	}
	for _, in := range []string{"127.0.0.1", "127.0.0.1:x", "127.0.0.1:70000", ""} {
		if _, err := checkAPIAddr("--url", in, true); err == nil {
			t.Errorf("checkAPIAddr(%q) accepted it", in)
		}
	}
}

// TestAPITokenByBoundAddress: the API goes without a token only when both
// --url's host and the address it bound are loopback ones: a "localhost"
// that resolves to another address needs the token.
func TestAPITokenByBoundAddress(t *testing.T) {
	for _, c := range []struct {
		url   string
		bound net.IP
		token bool
	}{
		{"localhost:0", net.IPv4(127, 0, 0, 1), false},
		{"127.0.0.1:0", net.IPv4(127, 0, 0, 1), false},
		{"localhost:0", net.IPv4(192, 0, 2, 1), true},
		{"db.example:0", net.IPv4(192, 0, 2, 1), true},
	} {
		f := &startFlags{rootdir: t.TempDir()}
		opts, path, err := apiOptions(f, c.url, &net.TCPAddr{IP: c.bound})
		if err != nil {
			t.Fatal(err)
		}
		if got := opts.Token != "" && path != ""; got != c.token {
			t.Errorf("--url %s bound to %s: token required %v, want %v", c.url, c.bound, got, c.token)
		}
	}
}

func TestExpandHome(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip(err)
	}
	for in, want := range map[string]string{
		"~/.gossipdb": filepath.Join(home, ".gossipdb"), "~": home, "/tmp/x": "/tmp/x", "rel/dir": "rel/dir", "~user/x": "~user/x",
	} {
		if got, err := expandHome(in); err != nil || got != want {
			t.Errorf("expandHome(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := expandHome(""); err == nil {
		t.Error("expandHome accepted an empty path")
	}
}

func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	c, err := readConfig(dir)
	if err != nil || c.URL != "" || c.P2PAddrs != nil {
		t.Fatalf("missing config.json: %+v, %v", c, err)
	}
	want := config{P2PAddrs: []string{"/ip4/127.0.0.1/tcp/9172"}, URL: "localhost:9182", LogLevel: "debug", LogFormat: "json",
		RequireToken: true, SmallMemory: true,
		GraphQLMaxDepth: 20, GraphQLMaxFields: 2000, GraphQLMaxResultSize: "32MiB", GraphQLMaxDuration: "2m0s",
		APIBodyBudget: "64MiB", APIAnswerBudget: "256MiB", APIBodyReadTimeout: "1m0s", APIEventBudget: "16MiB"}
	if err := writeConfig(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := readConfig(dir)
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []struct{ data, want string }{
		{"{", "unexpected EOF"},
		{`{"url": "127.0.0.1:0", "logLevle": "debug"}`, `unknown field "logLevle"`},
		{`{"url": "127.0.0.1:0"} {"url": "localhost:0"}`, "more than one JSON value"},
		{`{"url": 9182}`, `"url": want a string, got a number`},
		{`[]`, "want an object, got a list"},
		{`{"url": "127.0.0.1:0", "url": "localhost:0"}`, `duplicate key "url"`},
		{`{"url": "127.0.0.1:0", "URL": "localhost:0"}`, `duplicate key "URL" (the same as "url"`},
	} {
		os.WriteFile(filepath.Join(dir, configFile), []byte(bad.data), 0o600)
		if _, err := readConfig(dir); err == nil || !strings.Contains(err.Error(), configFile) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("config.json %s gave %v, want an error naming it and saying %q", bad.data, err, bad.want)
		}
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	token, path, err := loadToken(dir)
	if err != nil || len(token) != 64 || path != filepath.Join(dir, tokenFile) {
		t.Fatalf("first loadToken: %q, %q, %v", token, path, err)
	}
	if again, _, err := loadToken(dir); err != nil || again != token {
		t.Fatalf("second loadToken: %q, %v; want the first token %q", again, err, token)
	}
	other, _, err := loadToken(t.TempDir())
	if err != nil || other == token {
		t.Fatalf("another rootdir got token %q (%v), the first has %q", other, err, token)
	}
	for _, content := range []string{"", "short", strings.Repeat("g", 64), strings.Repeat("a", 66)} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := loadToken(dir); err == nil || !strings.Contains(err.Error(), "fix or delete it") {
			t.Errorf("token file %q: %v, want a refusal", content, err)
		}
	}
}

func TestSplitNames(t *testing.T) {
	got, err := splitNames([]string{"User,Post", " Comment ", "A,,B,"})
	if err != nil || strings.Join(got, "|") != "User|Post|Comment|A|B" {
		t.Fatalf("splitNames = %q, %v", got, err)
	}
	if _, err := splitNames([]string{",", " "}); err == nil {
		t.Fatal("splitNames accepted no name")
	}
}

func TestParseJSONArg(t *testing.T) {
	v, err := parseJSONArg("document", `{"age": 9007199254740993}`)
	if err != nil || fmt.Sprint(v) != "map[age:9007199254740993]" {
		t.Fatalf("parseJSONArg = %v, %v", v, err)
	}
	for in, want := range map[string]string{
		``:                                 "invalid JSON document: empty",
		`{"a": `:                           "invalid JSON document: unexpected end of input",
		`{a: 1}`:                           "invalid JSON document at byte 2: invalid character 'a'",
		`{"a": 1} {}`:                      "invalid JSON document: more than one JSON value",
		`{"a": 1} xyz`:                     "invalid JSON document: more than one JSON value",
		`{"a": 1, "\u0061": 2}`:            `invalid JSON document: duplicate key "a"`,
		`{"a": [{"b": {"c": 1, "c": 2}}]}`: `invalid JSON document: duplicate key "c" in a[0].b`,
	} {
		if _, err := parseJSONArg("document", in); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("parseJSONArg(%q) = %v, want %q…", in, err, want)
		}
	}
}

func TestConsoleLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newConsoleHandler(&buf, slog.LevelDebug))
	log.Info("Adding pubsub topic", "PeerID", "12D3KooWabc", "Topic", "bafyreixyz")
	log.With("node", 1).WithGroup("g").Warn("Odd value", "k", "two words")
	log.Debug("Plain")
	log.Error("Failed", "error", errors.New("boom"))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		`^\w{3} \d\d \d\d:\d\d:\d\d\.\d{3} INF Adding pubsub topic PeerID=12D3KooWabc Topic=bafyreixyz$`,
		`^.{19} WRN Odd value node=1 g\.k="two words"$`,
		`^.{19} DBG Plain$`,
		`^.{19} ERR Failed error=boom$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", buf.String())
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %q does not match %s", lines[i], w)
		}
	}

	buf.Reset()
	quiet := slog.New(newConsoleHandler(&buf, slog.LevelWarn))
	quiet.Info("hidden")
	if buf.Len() != 0 {
		t.Fatalf("info logged at warn level: %q", buf.String())
	}
}

func TestParseLevelAndFormat(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := parseLevel(in); err != nil || got != want {
			t.Errorf("parseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseLevel("loud"); err == nil {
		t.Error("parseLevel accepted loud")
	}
	if _, err := newLogger(&bytes.Buffer{}, "xml", slog.LevelInfo); err == nil {
		t.Error("newLogger accepted xml")
	}
}

func TestStartRejectsBadRelays(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	args := []string{"start", "--rootdir", t.TempDir(), "--url", "127.0.0.1:0", "--relays", "/ip4/127.0.0.1/tcp/1"}
	if code := run(context.Background(), args, e); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "--relays") || !strings.Contains(stderr.String(), "/p2p/") {
		t.Fatalf("stderr %q does not name --relays and the missing /p2p/ part", stderr.String())
	}
}

func TestStartRejectsBadSmallMemory(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	args := []string{"start", "--rootdir", t.TempDir(), "--url", "127.0.0.1:0", "--small-memory=sometimes"}
	if code := run(context.Background(), args, e); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "--small-memory") || !strings.Contains(stderr.String(), "sometimes") {
		t.Fatalf("stderr %q does not name --small-memory and its value", stderr.String())
	}
}

// TestStartNamesConfigFile: a bad value that `gossipdb start` took from
// config.json, not from a flag, is reported as coming from config.json.
func TestStartNamesConfigFile(t *testing.T) {
	for field, value := range map[string]string{
		"logLevel":             `"loud"`,
		"logFormat":            `"xml"`,
		"url":                  `"127.0.0.1:99999"`,
		"allowedPeers":         `["12D3KooWnope"]`,
		"p2paddr":              `["garbage"]`,
		"graphqlMaxDepth":      `200`,
		"graphqlMaxFields":     `-1`,
		"graphqlMaxResultSize": `"4 MB of it"`,
		"graphqlMaxDuration":   `"0s"`,
		"apiBodyBudget":        `"1MiB"`,
		"apiAnswerBudget":      `"2GiB"`,
		"apiBodyReadTimeout":   `"1h"`,
		"apiEventBudget":       `"lots"`,
	} {
		t.Run(field, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, configFile)
			// The bad value in place of the good one: a key given twice is
			// refused for itself.
			settings := map[string]string{"url": `"127.0.0.1:0"`, "p2paddr": `["/ip4/127.0.0.1/tcp/0"]`}
			settings[field] = value
			var members []string
			for k, v := range settings {
				members = append(members, fmt.Sprintf("%q: %s", k, v))
			}
			data := "{" + strings.Join(members, ", ") + "}"
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			if code := run(context.Background(), []string{"start", "--rootdir", dir}, e); code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "(from "+path+")") {
				t.Fatalf("stderr %q does not say the value came from %s", stderr.String(), path)
			}
		})
	}
}

// TestStartRootdirNotADirectory: a --rootdir that names a file, or a symbolic
// link to nothing (a disk not mounted), is refused with an error that names
// --rootdir and says what is there, and nothing is made.
func TestStartRootdirNotADirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(base, "unmounted", "gossipdb")
	link := filepath.Join(base, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		file: "--rootdir: " + file + " is a file, not a directory",
		link: "--rootdir: " + link + " is a symbolic link to " + target + ", which does not exist",
	} {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if code := run(context.Background(), []string{"start", "--rootdir", dir, "--url", "127.0.0.1:0"}, e); code != 1 {
			t.Fatalf("start --rootdir %s: exit %d, want 1", dir, code)
		}
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("start --rootdir %s: stderr %q, want %q", dir, stderr.String(), want)
		}
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("start made the missing target of %s: %v", link, err)
	}
}

// TestStartBadValuesWriteNothing: `gossipdb start` with a bad flag value fails
// with exit status 1 and an error naming the flag, and makes nothing: not
// even --rootdir.
func TestStartBadValuesWriteNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyAddr := "/ip4/127.0.0.1/tcp/" + strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"p2paddr":        {[]string{"--p2paddr", "garbage"}, "--p2paddr"},
		"p2paddr empty":  {[]string{"--p2paddr", ""}, "--p2paddr: empty: want one or more multiaddrs"},
		"p2paddr port":   {[]string{"--p2paddr", "/ip4/127.0.0.1/tcp/99999"}, "--p2paddr"},
		"p2paddr in use": {[]string{"--p2paddr", busyAddr}, "address already in use"},
		"p2paddr udp":    {[]string{"--p2paddr", "/ip4/127.0.0.1/tcp/0,/ip4/127.0.0.1/udp/0"}, "--p2paddr"},
		"url":            {[]string{"--url", "127.0.0.1:99999"}, "--url"},
		"peers":          {[]string{"--peers", "/ip4/127.0.0.1/tcp/1"}, "--peers"},
		"allowed-peers":  {[]string{"--allowed-peers", "nope"}, "--allowed-peers"},
		// Named as flags, not as the library's Options.Peers and Options.AllowedPeers.
		"peers not allowed": {[]string{"--allowed-peers", "12D3KooWBbbgQ2FE22Ntp8f15Ye6DM7hh2mx8WAeuu6xB7KxQh73",
			"--peers", "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWCumRqFXYddkgEJtXdojBZg3CmB8o7JzXGp27zXiZqjxr"},
			"--peers: /ip4/127.0.0.1/tcp/1/p2p/12D3KooWCumRqFXYddkgEJtXdojBZg3CmB8o7JzXGp27zXiZqjxr: " +
				"peer 12D3KooWCumRqFXYddkgEJtXdojBZg3CmB8o7JzXGp27zXiZqjxr is not in --allowed-peers"},
		"network-key":     {[]string{"--network-key", filepath.Join(t.TempDir(), "missing")}, "--network-key"},
		"log-level":       {[]string{"--log-level", "loud"}, "--log-level"},
		"log-format":      {[]string{"--log-format", "xml"}, "--log-format"},
		"origins":         {[]string{"--allowed-origins", "ftp://x"}, "--allowed-origins"},
		"origins pattern": {[]string{"--allowed-origins", "http://*.example.com"}, "--allowed-origins: origin \"http://*.example.com\": origins are matched exactly"},
	} {
		t.Run(name, func(t *testing.T) {
			rootdir := filepath.Join(t.TempDir(), "root")
			args := append([]string{"start", "--rootdir", rootdir, "--url", "127.0.0.1:0"}, tc.args...)
			if !slices.Contains(tc.args, "--p2paddr") {
				args = append(args, "--p2paddr", "/ip4/127.0.0.1/tcp/0")
			}
			var stdout, stderr bytes.Buffer
			e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			// Cancelled: a start that wrongly succeeds stops at once rather than run.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if code := run(ctx, args, e); code != 1 {
				t.Fatalf("exit %d, want 1; stderr %q", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
			if _, err := os.Lstat(rootdir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("--rootdir %s was made: %v", rootdir, err)
			}
		})
	}
}

// TestIsSubscription: the command tells a subscription from a request
// answered once by parsing it, whatever comes before the operation.
func TestIsSubscription(t *testing.T) {
	for request, want := range map[string]bool{
		`subscription { User { name } }`:                                      true,
		"# follow the users\n, subscription Watch($a: Int) { User { name } }": true,
		`fragment F on User { name } subscription { User { ...F } }`:          true,
		`{ User { name } }`:                                               false,
		`query subscription { User { name } }`:                            false, // a query named "subscription"
		`subscriptionX { User { name } }`:                                 false,
		`mutation { create_User(input: {name: "Ada"}) { _docID } }`:       false,
		`subscription { User { name } } subscription B { User { name } }`: false, // two operations: the node says which to run
		`subscription { User { name `:                                     false, // does not parse: the node says where
	} {
		if got := isSubscription(request, ""); got != want {
			t.Errorf("isSubscription(%q) = %v, want %v", request, got, want)
		}
	}
	// With an operation name (-o), the operation of that name.
	const two = `query A { User { name } } subscription B { User { name } }`
	for op, want := range map[string]bool{"A": false, "B": true, "C": false} {
		if got := isSubscription(two, op); got != want {
			t.Errorf("isSubscription(%q, %q) = %v, want %v", two, op, got, want)
		}
	}
}

// TestStartRefusesOwnAddressInPeers: the node's own address in --peers is
// refused, naming the flag; the node used to dial itself every 5 s, silently.
func TestStartRefusesOwnAddressInPeers(t *testing.T) {
	rootdir := filepath.Join(t.TempDir(), "root")
	start := func(extra ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // a start that succeeds stops at once
		args := append([]string{"start", "--rootdir", rootdir, "--url", "127.0.0.1:0", "--p2paddr", "/ip4/127.0.0.1/tcp/0"}, extra...)
		return run(ctx, args, e), stderr.String()
	}
	if code, stderr := start(); code != 0 {
		t.Fatalf("first start: exit %d, %s", code, stderr)
	}
	n, err := gossipdb.Open(filepath.Join(rootdir, dataDirName), nil)
	if err != nil {
		t.Fatal(err)
	}
	self := "/ip4/127.0.0.1/tcp/1/p2p/" + n.ID()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	code, stderr := start("--peers", self)
	if want := "--peers: " + self + " is this node's own address"; code != 1 || !strings.Contains(stderr, want) ||
		strings.Contains(stderr, "Options.") {
		t.Fatalf("start with its own address in --peers: exit %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// The API holds a quarter of the open files at most, at least one connection
// and at most maxAPIConns, and maxAPIConns when the limit is unknown.
func TestAPIConnLimit(t *testing.T) {
	for _, c := range []struct {
		openFiles int
		want      int
	}{{0, maxAPIConns}, {1, 1}, {64, 16}, {1024, 256}, {1 << 20, maxAPIConns}} {
		if got := apiConnLimit(c.openFiles); got != c.want {
			t.Errorf("apiConnLimit(%d) = %d, want %d", c.openFiles, got, c.want)
		}
	}
}
