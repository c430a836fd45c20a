package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// encodeJSON is the canonical JSON of v: struct field order, two-space
// indent, no HTML escaping (so "<2.0" stays readable), a trailing newline.
// encoding/json is deterministic for structs and slices, which is all the
// formats hold.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeJSON decodes exactly one JSON value from data into v, refusing
// unknown fields and trailing data. Errors are ErrMalformed and name the
// line and column, counted from 1, as what is being decoded.
func decodeJSON(what string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		off := dec.InputOffset()
		var serr *json.SyntaxError
		var terr *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return malformed("%s: empty", what)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return malformed("%s: %s: unexpected end of input", what, position(data, int64(len(data))))
		case errors.As(err, &serr):
			off = serr.Offset - 1 // the offending byte was read
		case errors.As(err, &terr):
			off = terr.Offset
		}
		return malformed("%s: %s: %s", what, position(data, off), trimJSONPrefix(err.Error()))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed("%s: %s: data after the end of the document", what, position(data, dec.InputOffset()))
	}
	return nil
}

func malformed(format string, args ...any) error {
	return &kindError{kind: ErrMalformed, msg: fmt.Sprintf(format, args...)}
}

// position is "line:column" of byte offset off in data.
func position(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n'))
	return fmt.Sprintf("%d:%d", line, col)
}

func trimJSONPrefix(s string) string {
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}
