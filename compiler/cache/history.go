package cache

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// History is what the last build of a package was made of, so that the
// next plan can say why a package rebuilds.
type History struct {
	ID     string  `json:"id"`
	Key    string  `json:"key"`
	Inputs []Input `json:"inputs"`
}

// Input mirrors plan.Input, without importing the planner.
type Input struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

func (c *Cache) historyPath(category, name string) string {
	if category == "" {
		category = "_"
	}
	return filepath.Join(c.dir, "history", safe(category), safe(name)+".json")
}

func safe(s string) string {
	return strings.NewReplacer("/", "_", "..", "__").Replace(s)
}

// RecordHistory remembers the inputs of a package's latest build.
func (c *Cache) RecordHistory(category, name string, h History) error {
	p := c.historyPath(category, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	// A temporary name of its own: two runs recording the same package
	// at once must not write into each other's file.
	tmp, err := os.CreateTemp(filepath.Dir(p), ".history-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// LastHistory returns the inputs of a package's latest build, if any.
func (c *Cache) LastHistory(category, name string) (*History, bool) {
	b, err := os.ReadFile(c.historyPath(category, name))
	if err != nil {
		return nil, false
	}
	var h History
	if json.Unmarshal(b, &h) != nil {
		return nil, false
	}
	return &h, true
}
