package repository

import (
	"fmt"
	"os"
	"strings"

	"github.com/etk-build/etk/compiler/cache"
	"github.com/etk-build/etk/compiler/plan"
)

// CachedEntries are the publication entries of a plan's steps, from the
// build cache. A step an upstream repository holds by key is referred to
// there (Entry.Source, the upstream's own source or URL, without
// credentials) unless copy is set. Every step must be in the cache; the
// error names those that are not.
func CachedEntries(p *plan.Plan, c *cache.Cache, upstreams []*Upstream, copy bool) ([]Entry, error) {
	var entries []Entry
	var missing []string
	for _, st := range p.Steps {
		e, ok := c.Get(st.Key)
		if !ok {
			missing = append(missing, st.ID)
			continue
		}
		meta, err := os.ReadFile(e.Metadata)
		if err != nil {
			return nil, err
		}
		entry := Entry{Metadata: meta, Artefact: e.Artefact}
		if !copy {
			entry.Source = upstreamSource(st.Key, upstreams)
		}
		entries = append(entries, entry)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not built (run etk compile first): %s", strings.Join(missing, ", "))
	}
	return entries, nil
}

// upstreamSource is where an upstream keeps the artefact of key, or "".
func upstreamSource(key string, upstreams []*Upstream) string {
	for _, u := range upstreams {
		if up, ok := u.Has(key); ok && up.Artefact != nil {
			if up.Source != "" {
				return up.Source
			}
			return WithoutCredentials(u.URL)
		}
	}
	return ""
}
