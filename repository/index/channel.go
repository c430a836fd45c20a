package index

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ChannelFormat and ChannelPayloadType identify an upgrade channel.
const (
	ChannelFormat      = "etk-channel/v1"
	ChannelPayloadType = "application/vnd.etk.channel.v1+json"
)

// Channel lists the OS image versions of a project, newest last, so that
// an installed system can find its next image and a derivative can follow
// (or pin) its upstream's. It is signed like a snapshot, with its own
// payload type, so that neither can pass for the other.
type Channel struct {
	Format string `json:"format"`
	// Name is the project's repository name; Channel the channel's
	// ("stable", "testing").
	Name    string         `json:"name"`
	Channel string         `json:"channel"`
	Entries []ChannelEntry `json:"entries"`
	// Sequence counts the channel's publications from 1, so that a
	// client that saw one can refuse an older one (a rolled-back
	// mirror). 0 in channels published before it was added.
	Sequence int64 `json:"sequence,omitempty"`
}

// ChannelEntry is one image version.
type ChannelEntry struct {
	Version string `json:"version"`
	// Image is the reference to pull, Digest pins its content.
	Image  string `json:"image"`
	Digest string `json:"digest"`
	// Revision is the repository revision the image was assembled from.
	Revision  int64     `json:"revision,omitempty"`
	Published time.Time `json:"published"`
}

// Latest is the newest entry, or false for an empty channel.
func (c *Channel) Latest() (ChannelEntry, bool) {
	if len(c.Entries) == 0 {
		return ChannelEntry{}, false
	}
	return c.Entries[len(c.Entries)-1], true
}

// SignChannel signs c's canonical JSON and returns the DSSE envelope.
func SignChannel(c *Channel, keys ...ed25519.PrivateKey) ([]byte, error) {
	if c.Format == "" {
		c.Format = ChannelFormat
	}
	payload, err := encodeJSON(c)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("sign channel: no signing key")
	}
	w := wireSigned{Payload: payload, PayloadType: ChannelPayloadType, Signatures: []wireSignature{}}
	msg := paeOf(ChannelPayloadType, payload)
	for _, k := range keys {
		id := KeyID(k.Public().(ed25519.PublicKey))
		if slices.ContainsFunc(w.Signatures, func(s wireSignature) bool { return s.KeyID == id }) {
			continue
		}
		w.Signatures = append(w.Signatures, wireSignature{KeyID: id, Sig: ed25519.Sign(k, msg)})
	}
	return encodeJSON(&w)
}

// VerifyChannel checks a channel envelope against the trusted keys (and
// threshold), and only then decodes it. Expiry and rollback do not apply:
// a channel only grows, and the images it names are pinned by digest.
func (t Trust) VerifyChannel(env []byte) (*Channel, error) {
	if len(env) > MaxSignedSize {
		return nil, malformed("channel: %d bytes, more than %d", len(env), MaxSignedSize)
	}
	var w wireSigned
	if err := decodeJSON("decode channel", env, &w); err != nil {
		return nil, err
	}
	if w.PayloadType != ChannelPayloadType {
		return nil, malformed("channel: payload type %q, want %q", clip(w.PayloadType), ChannelPayloadType)
	}
	if len(t.Keys) == 0 {
		return nil, fmt.Errorf("verify channel: no trusted keys")
	}
	need := t.Threshold
	if need <= 0 {
		need = 1
	}
	msg := paeOf(ChannelPayloadType, w.Payload)
	good := map[string]bool{}
	for _, sig := range w.Signatures {
		for _, k := range t.Keys {
			if KeyID(k) == sig.KeyID && ed25519.Verify(k, msg, sig.Sig) {
				good[sig.KeyID] = true
			}
		}
	}
	if len(good) < need {
		return nil, fmt.Errorf("%w: the channel is signed by %d trusted key(s), %d required", ErrUntrusted, len(good), need)
	}
	var c Channel
	dec := json.NewDecoder(bytes.NewReader(w.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, malformed("channel: %v", err)
	}
	if c.Format != ChannelFormat {
		return nil, malformed("channel: format %q, want %q", clip(c.Format), ChannelFormat)
	}
	if t.Name != "" && c.Name != t.Name {
		return nil, fmt.Errorf("%w: the channel is of %q, not %q", ErrWrongRepository, c.Name, t.Name)
	}
	return &c, nil
}

// paeOf is DSSE's pre-authentication encoding for a payload type.
func paeOf(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteString(" " + payloadType + " ")
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}
