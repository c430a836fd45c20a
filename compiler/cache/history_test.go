package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestRecordHistoryConcurrently: runs recording the same package at once
// leave one whole record and no temporary file.
func TestRecordHistoryConcurrently(t *testing.T) {
	c, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.RecordHistory("system", "kernel", History{ID: "system/kernel@1", Key: fmt.Sprintf("%064d", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	h, ok := c.LastHistory("system", "kernel")
	if !ok || h.ID != "system/kernel@1" || len(h.Key) != 64 {
		t.Errorf("history: %+v %v", h, ok)
	}
	left, _ := filepath.Glob(filepath.Join(c.Dir(), "history", "system", ".history-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(c.Dir(), "history", "system", "kernel.json")); err != nil {
		t.Error(err)
	}
}
