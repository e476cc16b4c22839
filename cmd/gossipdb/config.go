package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
//	  "logFormat": "text"
//	}
type config struct {
	P2PAddrs  []string `json:"p2paddr,omitempty"`
	URL       string   `json:"url,omitempty"`
	LogLevel  string   `json:"logLevel,omitempty"`
	LogFormat string   `json:"logFormat,omitempty"`
}

// readConfig reads dir's config.json; a missing file is an empty config.
func readConfig(dir string) (config, error) {
	var c config
	path := filepath.Join(dir, configFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w (fix or delete it)", path, err)
	}
	return c, nil
}

// writeConfig replaces dir's config.json with c.
func writeConfig(dir string, c config) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dir, configFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
