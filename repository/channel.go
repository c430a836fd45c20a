package repository

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/etk-build/etk/repository/index"
)

var channelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ChannelRef is the reference of upgrade channel name.
func ChannelRef(name string) string { return "channels/" + name }

// ReadChannel reads and verifies a channel; ErrNotFound when there is none.
// Whether it is older than one the reader saw is repository/seen's
// question.
func ReadChannel(ctx context.Context, s ReadOnlyStore, t index.Trust, name string) (*index.Channel, error) {
	if !channelRE.MatchString(name) {
		return nil, fmt.Errorf("channel name %q: lower-case letters, digits, '.', '_' and '-'", name)
	}
	b, err := getRef(ctx, s, ChannelRef(name))
	if err != nil {
		return nil, err
	}
	return t.VerifyChannel(b)
}

// PublishChannel adds an image version to a channel (replacing an entry of
// the same version), signed with key, compared-and-swapped so that two
// publishers never lose an entry. Each publication raises the channel's
// Sequence, so that readers can refuse an older channel (see
// repository/seen).
func PublishChannel(ctx context.Context, s Store, key index.PrivateKey, repo, name string, e index.ChannelEntry) (*index.Channel, error) {
	if !channelRE.MatchString(name) {
		return nil, fmt.Errorf("channel name %q: lower-case letters, digits, '.', '_' and '-'", name)
	}
	trust := index.Trust{Keys: []index.PublicKey{key.Public().(index.PublicKey)}, Name: repo}
	for try := 0; try < maxTries; try++ {
		old, err := getRef(ctx, s, ChannelRef(name))
		c := &index.Channel{Name: repo, Channel: name}
		switch {
		case errors.Is(err, ErrNotFound):
			old = nil
		case err != nil:
			return nil, err
		default:
			if c, err = trust.VerifyChannel(old); err != nil {
				return nil, fmt.Errorf("channel %s: %w", name, err)
			}
		}
		var entries []index.ChannelEntry
		for _, x := range c.Entries {
			if x.Version != e.Version {
				entries = append(entries, x)
			}
		}
		c.Entries = append(entries, e)
		// A legacy channel (no sequence) continues from its entry count,
		// which is at most the publications it had.
		if c.Sequence == 0 {
			c.Sequence = int64(len(c.Entries) - 1)
		}
		c.Sequence++
		env, err := index.SignChannel(c, key)
		if err != nil {
			return nil, err
		}
		err = s.PutRef(ctx, ChannelRef(name), old, env)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("channel %s: other publishers kept winning the race", name)
}
