package seen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/etk-build/etk/repository/index"
)

// Format versions State.
const Format = "etk-seen/v1"

// MaxStateSize bounds a state file: a few hundred bytes per repository.
const MaxStateSize = 4 << 20

// maxWalk bounds how many Previous envelopes a check reads: a client
// that last saw a repository this many revisions ago must allow the
// change explicitly.
const maxWalk = 10000

// maxURLs bounds the locations remembered per repository.
const maxURLs = 16

// State is what a client remembers.
type State struct {
	Format       string       `json:"format"`
	Repositories []Repository `json:"repositories"`
	Channels     []Channel    `json:"channels,omitempty"`
}

// Repository is the newest trusted revision of one repository.
type Repository struct {
	Name     string `json:"name"`
	Revision int64  `json:"revision"`
	// Snapshot is the revision's index.Snapshot.PayloadDigest.
	Snapshot string `json:"snapshot"`
	// Keys are the ids of the trusted keys that signed it: with the
	// name, who the repository is. A repository of the same name signed
	// by none of them is another one (a project's own test repository
	// beside the vendor's), remembered apart.
	Keys []string `json:"keys"`
	// URLs are where it was read, credentials removed, sorted.
	URLs []string `json:"urls,omitempty"`
}

// Channel is the newest trusted state of one channel.
type Channel struct {
	Repository string `json:"repository"`
	Channel    string `json:"channel"`
	Sequence   int64  `json:"sequence"`
	// Digest is the channel's index.Channel.Digest.
	Digest string `json:"digest"`
	// Keys are the ids of the keys trusted to sign it, as for a
	// Repository.
	Keys []string `json:"keys"`
	URLs []string `json:"urls,omitempty"`
}

// Allow says what the user accepts explicitly.
type Allow struct {
	// Rollback accepts an older revision (or channel sequence) than the
	// one remembered.
	Rollback bool
	// Change accepts a repository whose history does not continue the
	// remembered one, or a location serving another repository.
	Change bool
}

// Decode reads a state; empty data is an empty state.
func Decode(data []byte) (*State, error) {
	s := &State{Format: Format, Repositories: []Repository{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return s, nil
	}
	if len(data) > MaxStateSize {
		return nil, fmt.Errorf("seen state: %d bytes, more than %d", len(data), MaxStateSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, fmt.Errorf("seen state: %w", err)
	}
	if s.Format != Format {
		return nil, fmt.Errorf("seen state: format %q, want %q", s.Format, Format)
	}
	if s.Repositories == nil {
		s.Repositories = []Repository{}
	}
	return s, nil
}

// Encode returns the state's JSON, sorted, with a trailing newline.
func (s *State) Encode() ([]byte, error) {
	s.Format = Format
	slices.SortFunc(s.Repositories, func(a, b Repository) int {
		return strings.Compare(a.Name+"\x00"+strings.Join(a.Keys, ","), b.Name+"\x00"+strings.Join(b.Keys, ","))
	})
	slices.SortFunc(s.Channels, func(a, b Channel) int {
		return strings.Compare(a.Repository+"\x00"+a.Channel+"\x00"+strings.Join(a.Keys, ","), b.Repository+"\x00"+b.Channel+"\x00"+strings.Join(b.Keys, ","))
	})
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Location is how a repository URL is remembered: without user
// information (credentials never reach the state), query or fragment.
func Location(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if i := strings.LastIndex(raw, "@"); i >= 0 && strings.Contains(raw, "://") {
			scheme, _, _ := strings.Cut(raw, "://")
			return scheme + "://" + raw[i+1:]
		}
		return raw
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Blobs reads a repository's blobs: the envelopes of earlier revisions.
type Blobs interface {
	GetBlob(ctx context.Context, digest string) (io.ReadCloser, error)
}

// Point is a revision a client trusted, named by either digest.
type Point struct {
	Revision int64
	// Payload is its index.Snapshot.PayloadDigest; Envelope the
	// sha256 of its whole signed envelope (what etk.lock pins).
	Payload, Envelope string
}

// Continues returns nil when snap, a verified snapshot, is p or a later
// revision of the same repository whose Previous chain, read through b,
// reaches p: else an error wrapping index.ErrRollback (snap is older) or
// index.ErrWrongRepository (another history). For snap at p's revision
// only p.Payload can be compared; with only p.Envelope set the caller
// compares the envelope itself.
func Continues(ctx context.Context, b Blobs, snap *index.Snapshot, p Point) error {
	if snap.Revision < p.Revision {
		return &historyError{kind: index.ErrRollback, msg: fmt.Sprintf(
			"repository %s: revision %d is older than revision %d, trusted before: a mirror or cache serves an old revision", snap.Name, snap.Revision, p.Revision)}
	}
	changed := func(format string, args ...any) error {
		return &historyError{kind: index.ErrWrongRepository, msg: fmt.Sprintf("repository %s: revision %d does not continue revision %d trusted before: ", snap.Name, snap.Revision, p.Revision) +
			fmt.Sprintf(format, args...) + "; it is another repository signed by the same key, or this one rebuilt from scratch"}
	}
	if snap.Revision == p.Revision {
		if p.Payload == "" {
			return nil
		}
		d, err := snap.PayloadDigest()
		if err != nil {
			return err
		}
		if d != p.Payload {
			return changed("the same revision number, signed over other content (%s, trusted %s)", short(d), short(p.Payload))
		}
		return nil
	}
	cur := snap
	for steps := 0; cur.Revision > p.Revision; steps++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if steps == maxWalk {
			return changed("more than %d revisions apart, too many to follow", maxWalk)
		}
		prev := cur.Previous
		if prev == nil {
			return changed("its history starts at revision %d", cur.Revision)
		}
		if prev.Size > index.MaxSignedSize {
			return changed("revision %d names a previous envelope of %d bytes", cur.Revision, prev.Size)
		}
		rc, err := b.GetBlob(ctx, prev.Digest)
		if err != nil {
			return fmt.Errorf("repository %s: the revision before %d: %w", snap.Name, cur.Revision, err)
		}
		env, err := io.ReadAll(io.LimitReader(rc, prev.Size+1))
		rc.Close()
		if err != nil {
			return fmt.Errorf("repository %s: the revision before %d: %w", snap.Name, cur.Revision, err)
		}
		older, err := index.DecodePrevious(*prev, env)
		if err != nil {
			return fmt.Errorf("repository %s: the revision before %d: %w", snap.Name, cur.Revision, err)
		}
		switch {
		case older.Name != snap.Name:
			return changed("revision %d follows a revision of %q", cur.Revision, older.Name)
		case older.Revision >= cur.Revision:
			return changed("revision %d follows revision %d", cur.Revision, older.Revision)
		case older.Revision < p.Revision:
			return changed("its history goes from revision %d to %d", older.Revision, cur.Revision)
		case older.Revision == p.Revision:
			if p.Envelope != "" && prev.Digest == p.Envelope {
				return nil
			}
			if p.Payload != "" {
				d, err := older.PayloadDigest()
				if err != nil {
					return err
				}
				if d == p.Payload {
					return nil
				}
			}
			return changed("its revision %d is not the one trusted", p.Revision)
		}
		cur = older
	}
	return nil
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

// historyError is an error for a user whose kind is an index sentinel.
type historyError struct {
	kind error
	msg  string
}

func (e *historyError) Error() string { return e.msg }
func (e *historyError) Unwrap() error { return e.kind }

// overlap reports whether two sets of key ids share one.
func overlap(a, b []string) bool {
	for _, k := range a {
		if slices.Contains(b, k) {
			return true
		}
	}
	return false
}

func (s *State) repository(name string, keys []string) *Repository {
	for i := range s.Repositories {
		if s.Repositories[i].Name == name && overlap(s.Repositories[i].Keys, keys) {
			return &s.Repositories[i]
		}
	}
	return nil
}

// CheckRepository returns nil when snap, verified and read from loc (a
// Location), signed by the trusted keys of ids keys, continues what s
// remembers of its repository (the same name, signed by one of the same
// keys), and loc served no other repository before, or when allow accepts
// what differs.
func (s *State) CheckRepository(ctx context.Context, b Blobs, loc string, snap *index.Snapshot, keys []string, allow Allow) error {
	r := s.repository(snap.Name, keys)
	if !allow.Change {
		for i := range s.Repositories {
			o := &s.Repositories[i]
			if o != r && slices.Contains(o.URLs, loc) {
				return &historyError{kind: index.ErrWrongRepository, msg: fmt.Sprintf(
					"%s served repository %q (revision %d, signed by %s) before, and now serves %q signed by %s: a mirror swapped, or the URL is wrong", loc, o.Name, o.Revision, strings.Join(o.Keys, ", "), snap.Name, strings.Join(keys, ", "))}
			}
		}
	}
	if r == nil {
		return nil
	}
	err := Continues(ctx, b, snap, Point{Revision: r.Revision, Payload: r.Snapshot})
	if (allow.Rollback && isKind(err, index.ErrRollback)) || (allow.Change && isKind(err, index.ErrWrongRepository)) {
		return nil
	}
	return err
}

func isKind(err, kind error) bool {
	h, ok := err.(*historyError)
	return ok && h.kind == kind
}

// RememberRepository records snap, read from loc, as trusted: it becomes
// the remembered revision when it is newer, or when allow accepted it
// (an older or another one); loc moves to it.
func (s *State) RememberRepository(loc string, snap *index.Snapshot, keys []string, allow Allow) error {
	d, err := snap.PayloadDigest()
	if err != nil {
		return err
	}
	r := s.repository(snap.Name, keys)
	if r == nil {
		s.Repositories = append(s.Repositories, Repository{Name: snap.Name, Revision: -1})
		r = &s.Repositories[len(s.Repositories)-1]
	}
	for i := range s.Repositories {
		if o := &s.Repositories[i]; o != r {
			o.URLs = slices.DeleteFunc(o.URLs, func(u string) bool { return u == loc })
		}
	}
	if snap.Revision > r.Revision || allow.Rollback || allow.Change {
		r.Revision, r.Snapshot = snap.Revision, d
	}
	r.Keys = sortedKeys(keys)
	r.URLs = addURL(r.URLs, loc)
	return nil
}

func sortedKeys(keys []string) []string {
	k := slices.Clone(keys)
	slices.Sort(k)
	return slices.Compact(k)
}

func addURL(urls []string, loc string) []string {
	if loc == "" || slices.Contains(urls, loc) {
		return urls
	}
	urls = append(urls, loc)
	slices.Sort(urls)
	if len(urls) > maxURLs {
		urls = urls[len(urls)-maxURLs:]
	}
	return urls
}

func (s *State) channel(repo, name string, keys []string) *Channel {
	for i := range s.Channels {
		if x := &s.Channels[i]; x.Repository == repo && x.Channel == name && overlap(x.Keys, keys) {
			return x
		}
	}
	return nil
}

// CheckChannel returns nil when c, verified with the trusted keys of ids
// keys and read from loc, is not older than the channel state s remembers (a lower sequence: an error
// wrapping index.ErrRollback), not other content under the same
// sequence, and loc served this channel name of no other repository (both
// index.ErrWrongRepository), or when allow accepts it.
func (s *State) CheckChannel(loc string, c *index.Channel, keys []string, allow Allow) error {
	x := s.channel(c.Name, c.Channel, keys)
	if !allow.Change {
		for i := range s.Channels {
			if o := &s.Channels[i]; o != x && o.Channel == c.Channel && slices.Contains(o.URLs, loc) {
				return &historyError{kind: index.ErrWrongRepository, msg: fmt.Sprintf(
					"%s served channel %s of repository %q (signed by %s) before, and now one of %q signed by %s: a mirror swapped, or the URL is wrong", loc, c.Channel, o.Repository, strings.Join(o.Keys, ", "), c.Name, strings.Join(keys, ", "))}
			}
		}
	}
	if x == nil {
		return nil
	}
	d, err := c.Digest()
	if err != nil {
		return err
	}
	switch {
	case c.Sequence < x.Sequence && !allow.Rollback:
		return &historyError{kind: index.ErrRollback, msg: fmt.Sprintf(
			"channel %s of %s: publication %d is older than publication %d, trusted before: a mirror or cache serves an old channel", c.Channel, c.Name, c.Sequence, x.Sequence)}
	case c.Sequence == x.Sequence && c.Sequence > 0 && d != x.Digest && !allow.Change:
		return &historyError{kind: index.ErrWrongRepository, msg: fmt.Sprintf(
			"channel %s of %s: publication %d signed over other content than the one trusted before (%s, trusted %s)", c.Channel, c.Name, c.Sequence, short(d), short(x.Digest))}
	}
	return nil
}

// RememberChannel records c, read from loc, as trusted, as
// RememberRepository does.
func (s *State) RememberChannel(loc string, c *index.Channel, keys []string, allow Allow) error {
	d, err := c.Digest()
	if err != nil {
		return err
	}
	x := s.channel(c.Name, c.Channel, keys)
	if x == nil {
		s.Channels = append(s.Channels, Channel{Repository: c.Name, Channel: c.Channel, Sequence: -1})
		x = &s.Channels[len(s.Channels)-1]
	}
	for i := range s.Channels {
		if o := &s.Channels[i]; o != x && o.Channel == c.Channel {
			o.URLs = slices.DeleteFunc(o.URLs, func(u string) bool { return u == loc })
		}
	}
	x.Keys = sortedKeys(keys)
	if c.Sequence > x.Sequence || allow.Rollback || allow.Change || (c.Sequence == 0 && x.Sequence == 0) {
		x.Sequence, x.Digest = c.Sequence, d
	}
	x.URLs = addURL(x.URLs, loc)
	return nil
}
