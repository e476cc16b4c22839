package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/gossipdb/gossipdb/internal/jsonerr"
	"github.com/gossipdb/gossipdb/internal/jsonkeys"
	"github.com/gossipdb/gossipdb/internal/regular"
)

// configFile is the name of the file in --rootdir that records the settings of
// the last successful `gossipdb start`.
const configFile = "config.json"

// config is the content of config.json. Empty fields mean "not recorded".
//
//	{
//	  "p2paddr": ["/ip4/127.0.0.1/tcp/9171"],
//	  "url": "127.0.0.1:9181",
//	  "logLevel": "info",
//	  "logFormat": "text",
//	  "requireToken": true,
//	  "networkKey": "/home/me/swarm.key",
//	  "allowedPeers": ["12D3KooW…"],
//	  "smallMemory": true,
//	  "graphqlMaxDepth": 20,
//	  "graphqlMaxFields": 2000,
//	  "graphqlMaxResultSize": "32MiB",
//	  "graphqlMaxDuration": "2m0s",
//	  "apiBodyBudget": "64MiB",
//	  "apiAnswerBudget": "256MiB",
//	  "apiBodyReadTimeout": "1m0s",
//	  "apiEventBudget": "16MiB"
//	}
//
// The GraphQL limits and the API's budgets are recorded only when they are
// not their defaults; their values are those of the --graphql-* and --api-*
// flags.
type config struct {
	P2PAddrs     []string `json:"p2paddr,omitempty"`
	URL          string   `json:"url,omitempty"`
	LogLevel     string   `json:"logLevel,omitempty"`
	LogFormat    string   `json:"logFormat,omitempty"`
	RequireToken bool     `json:"requireToken,omitempty"`
	NetworkKey   string   `json:"networkKey,omitempty"`
	AllowedPeers []string `json:"allowedPeers,omitempty"`
	SmallMemory  bool     `json:"smallMemory,omitempty"`

	GraphQLMaxDepth      int    `json:"graphqlMaxDepth,omitempty"`
	GraphQLMaxFields     int    `json:"graphqlMaxFields,omitempty"`
	GraphQLMaxResultSize string `json:"graphqlMaxResultSize,omitempty"`
	GraphQLMaxDuration   string `json:"graphqlMaxDuration,omitempty"`

	APIBodyBudget      string `json:"apiBodyBudget,omitempty"`
	APIAnswerBudget    string `json:"apiAnswerBudget,omitempty"`
	APIBodyReadTimeout string `json:"apiBodyReadTimeout,omitempty"`
	APIEventBudget     string `json:"apiEventBudget,omitempty"`
}

// maxConfigFile bounds what readConfig reads, in bytes: the config.json
// `gossipdb start` writes is a few hundred bytes, a few KiB with a long
// --allowed-peers.
const maxConfigFile = 1 << 20

// readConfig reads dir's config.json; a missing file is an empty config. A
// file that is not a regular file (a directory, a FIFO, a device), is larger
// than maxConfigFile, or is not one JSON object of config's keys is an error
// naming it.
func readConfig(dir string) (config, error) {
	var c config
	path := filepath.Join(dir, configFile)
	data, err := regular.ReadFile(path, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("%w (fix or delete it)", err)
	}
	// A key it does not know is refused rather than ignored: a misspelt
	// setting would otherwise be dropped without a word.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err = dec.Decode(&c)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err == nil {
		// A setting given twice would take its last value without a word,
		// and keys are matched to settings regardless of case.
		err = jsonkeys.CheckFor(data, reflect.TypeOf(c))
	}
	if msg, ok := jsonerr.TypeMismatch(err); ok {
		err = errors.New(msg)
	}
	if err != nil {
		return config{}, fmt.Errorf("%s: %w (fix or delete it)", path, err)
	}
	return c, nil
}

// writeConfig replaces dir's config.json with c, on disk before it returns,
// so that a crash leaves the old file or the new one. A config.json that is a
// symbolic link to a file keeps being one: the file it names is replaced.
func writeConfig(dir string, c config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, configFile)
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if path, err = filepath.EvalSymlinks(path); err != nil {
			return err
		}
	}
	return regular.Replace(path, append(data, '\n'), 0o600)
}

// tokenFile is the name of the file in --rootdir that holds the API's bearer
// token: 64 hex digits, made once by the first `gossipdb start` that needs a
// token and reused by later ones. Only its owner may read it (mode 0600).
const tokenFile = "api-token"

// tokenBytes is the number of random bytes in a token.
const tokenBytes = 32

// loadToken returns the API token in dir's api-token and the file's path,
// making the file first if it does not exist. A file that others may read, or
// that does not hold a token, is an error.
func loadToken(dir string) (token, path string, err error) {
	path = filepath.Join(dir, tokenFile)
	f, fi, err := regular.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		token, err = newToken(path)
		return token, path, err
	}
	if errors.Is(err, regular.ErrNotRegular) {
		return "", path, fmt.Errorf("%w (delete it to make a new token)", err)
	}
	if err != nil {
		return "", path, err
	}
	defer f.Close()
	if err := regular.CheckPrivate(path, fi); err != nil {
		return "", path, err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(2*hex.EncodedLen(tokenBytes))))
	if err != nil {
		return "", path, err
	}
	token = strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(token); err != nil || len(b) != tokenBytes {
		return "", path, fmt.Errorf("%s: not a token of %d hex digits (fix or delete it to make a new one)", path, hex.EncodedLen(tokenBytes))
	}
	return token, path, nil
}

// newToken writes a new random token to path, readable by its owner only.
func newToken(path string) (string, error) {
	b := make([]byte, tokenBytes)
	rand.Read(b)
	token := hex.EncodeToString(b)
	if err := regular.Replace(path, []byte(token+"\n"), 0o600); err != nil {
		return "", err
	}
	return token, nil
}
