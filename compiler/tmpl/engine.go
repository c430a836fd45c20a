package tmpl

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/etk-build/etk/compiler/diag"
)

// maxOutput bounds what one template may render, against runaway loops.
const maxOutput = 16 << 20

// Engine holds the shared {{define}} blocks of a tree. Add shared files
// first, then Parse spec templates; Parse may be called concurrently after
// that, and a parsed Template may be executed concurrently.
//
// Spec templates are parsed into one namespace with the shared blocks, so
// that sprig's two hundred functions are bound once, not once per file. A
// spec that defines templates of its own gets a namespace of its own, so
// its definitions cannot leak into other specs.
type Engine struct {
	defs    map[string]*parse.Tree
	order   []string
	sources map[string][]byte
	clock   time.Time
	times   template.FuncMap
	clocks  *clockUse

	mu   sync.Mutex
	root *template.Template
}

// Option tunes an Engine.
type Option func(*Engine)

// WithClock pins the time that now and the date functions read (default:
// the Unix epoch). Templates never read the machine's clock.
func WithClock(t time.Time) Option {
	return func(e *Engine) { e.clock = t.UTC() }
}

// New returns an engine with no shared templates.
func New(opts ...Option) *Engine {
	e := &Engine{defs: map[string]*parse.Tree{}, sources: map[string][]byte{}, clock: time.Unix(0, 0).UTC(), clocks: newClockUse()}
	for _, o := range opts {
		o(e)
	}
	e.times = timeFuncs(e.clock)
	return e
}

// Clock is the pinned time templates read.
func (e *Engine) Clock() time.Time { return e.clock }

// AddShared parses a templates-folder file and keeps its {{define}} blocks.
// A later file redefining a name wins, as if pasted after the earlier one.
func (e *Engine) AddShared(file string, src []byte) error {
	e.sources[file] = src
	t := template.New(file).Funcs(baseFuncs)
	if _, err := t.Parse(string(src)); err != nil {
		return e.positioned(err, file, src)
	}
	var names []string
	for _, d := range t.Templates() {
		if d.Name() != file && d.Tree != nil {
			names = append(names, d.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if _, seen := e.defs[n]; !seen {
			e.order = append(e.order, n)
		}
		e.defs[n] = t.Lookup(n).Tree
		delete(e.clocks.direct, n)
		delete(e.clocks.refs, n)
		e.clocks.refs[n] = nil
		e.clocks.add(n, e.defs[n])
	}
	e.root = nil
	return nil
}

// namespace returns a template holding the functions and shared blocks.
func (e *Engine) namespace(name string) (*template.Template, error) {
	t := template.New(name).Funcs(baseFuncs).Funcs(e.times)
	t.Funcs(template.FuncMap{"include": func(name string, data any) (string, error) {
		if includeTooDeep() {
			return "", tooDeepErr(name)
		}
		if t.Lookup(name) == nil {
			return "", fmt.Errorf("template %q not defined", name)
		}
		var b limitedBuffer
		if err := t.ExecuteTemplate(&b, name, data); err != nil {
			// Report runaway recursion once, not wrapped by every level.
			var deep tooDeepErr
			if errors.As(err, &deep) {
				return "", deep
			}
			return "", err
		}
		return b.String(), nil
	}, "tpl": func(text string, data any) (string, error) {
		// Helm's tpl: render a string as a template, with the blocks of
		// this namespace.
		if includeTooDeep() {
			return "", tooDeepErr("tpl")
		}
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		nt, err := c.New("\x00tpl").Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %w", err)
		}
		var b limitedBuffer
		if err := nt.Execute(&b, data); err != nil {
			var deep tooDeepErr
			if errors.As(err, &deep) {
				return "", deep
			}
			return "", fmt.Errorf("tpl: %w", err)
		}
		return b.String(), nil
	}})
	for _, n := range e.order {
		if _, err := t.AddParseTree(n, e.defs[n]); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (e *Engine) shared() (*template.Template, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.root == nil {
		t, err := e.namespace("\x00shared")
		if err != nil {
			return nil, err
		}
		e.root = t
	}
	return e.root, nil
}

// Template is a parsed spec template.
type Template struct {
	t     *template.Template
	e     *Engine
	src   []byte
	clock bool
}

// UsesClock reports whether the template reads the pinned clock (through
// now or ago, directly or through a template it includes): its output then
// depends on the clock, and build keys record it.
func (t *Template) UsesClock() bool { return t.clock }

// Parse parses a spec template (a build.yaml) against the shared blocks.
func (e *Engine) Parse(file string, src []byte) (*Template, error) {
	var t *template.Template
	var err error
	ownNS := bytes.Contains(src, []byte("define")) || bytes.Contains(src, []byte("block"))
	if ownNS {
		t, err = e.namespace(file)
	} else {
		var root *template.Template
		if root, err = e.shared(); err == nil {
			t = root.New(file)
		}
	}
	if err != nil {
		return nil, e.positioned(err, file, src)
	}
	if _, err := t.Parse(string(src)); err != nil {
		return nil, e.positioned(err, file, src)
	}
	own := newClockUse()
	own.parent = e.clocks
	own.refs[file] = nil
	own.add(file, t.Tree)
	if ownNS {
		for _, d := range t.Templates() {
			if d.Name() != file && d.Tree != nil && e.defs[d.Name()] != d.Tree {
				own.refs[d.Name()] = nil
				own.add(d.Name(), d.Tree)
			}
		}
	}
	return &Template{t: t, e: e, src: src, clock: own.uses(file)}, nil
}

// Execute renders the template with {"Values": values}. A missing value
// prints as nothing, as in Helm's engine, which luet renders with (Go's
// own "<no value>" is removed from the output).
func (t *Template) Execute(values map[string]any) ([]byte, error) {
	var b limitedBuffer
	if err := t.t.Execute(&b, map[string]any{"Values": values}); err != nil {
		return nil, t.e.positioned(err, t.t.Name(), t.src)
	}
	out := b.Bytes()
	if bytes.Contains(out, noValue) {
		out = bytes.ReplaceAll(out, noValue, nil)
	}
	return out, nil
}

var noValue = []byte("<no value>")

// Go's template errors look like
//
//	template: FILE:LINE:COL: executing "NAME" at <.X>: MESSAGE
//	template: FILE:LINE: MESSAGE
var startedAt = regexp.MustCompile(` started at (.+):(\d+)$`)

var tmplErr = regexp.MustCompile(`^template: (.+?):(\d+)(?::(\d+))?: (.*)$`)

// positioned turns a text/template error into a diagnostic with an excerpt
// of the template line it points at.
func (e *Engine) positioned(err error, file string, fileSrc []byte) error {
	msg := err.Error()
	if lim, ok := err.(limitErr); ok {
		return &diag.Diagnostic{Pos: diag.Pos{File: file}, Msg: "template error: " + lim.Error()}
	}
	first, _, _ := strings.Cut(msg, "\n")
	m := tmplErr.FindStringSubmatch(first)
	if m == nil {
		return &diag.Diagnostic{Pos: diag.Pos{File: file}, Msg: "template error: " + strings.TrimPrefix(msg, "template: ")}
	}
	where := m[1]
	line, _ := strconv.Atoi(m[2])
	col := 0
	if m[3] != "" {
		// Go counts columns from 0 in exec errors' byte offsets.
		col, _ = strconv.Atoi(m[3])
		col++
	}
	text := m[4]
	// Exec errors name the template after the position; keep what matters.
	if strings.HasPrefix(text, "executing ") {
		if i := strings.Index(text, ": "); i >= 0 {
			at := ""
			if j := strings.Index(text, " at <"); j >= 0 && j < i {
				at = text[j+4 : i]
			}
			text = text[i+2:]
			if at != "" {
				text = fmt.Sprintf("%s: %s", at, text)
			}
		}
	}
	// An unclosed action is reported at the end of the file; the line it
	// starts on is the useful one.
	if m := startedAt.FindStringSubmatch(text); m != nil && m[1] == where {
		line, _ = strconv.Atoi(m[2])
		col = 0
		text = strings.TrimSuffix(text, m[0])
	}
	src, ok := e.sources[where]
	if !ok {
		where, src = file, fileSrc
	}
	if col == 0 {
		col = guessCol(src, line, text)
	}
	return &diag.Diagnostic{
		Pos:    diag.Pos{File: where, Line: line, Col: col},
		Msg:    "template error: " + text,
		Detail: diag.Excerpt(src, line, col),
	}
}

// guessCol finds a column for a parse error, which Go reports with a line
// only: the token the message quotes (`unexpected "}" in operand`,
// `function "foo" not defined`) from the line's first action on, else that
// action's start; 0 when the line has no action.
func guessCol(src []byte, line int, msg string) int {
	text := ""
	if lines := strings.Split(string(src), "\n"); line >= 1 && line <= len(lines) {
		text = lines[line-1]
	}
	start := strings.Index(text, "{{")
	if start < 0 {
		return 0
	}
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if q, err := strconv.QuotedPrefix(msg[i:]); err == nil {
			if tok, err := strconv.Unquote(q); err == nil && tok != "" {
				if j := strings.Index(text[start:], tok); j >= 0 {
					return start + j + 1
				}
			}
		}
	}
	return start + 1
}

// maxIncludeStack bounds the call stack an include may start on. Each
// include runs a fresh execution, which text/template's own depth limit
// does not see, so a template that includes itself would recurse until the
// runtime kills the process. An include level takes about 15 frames, so
// this still allows more than 150 levels of nesting.
const maxIncludeStack = 3000

// includeTooDeep reports whether the calling goroutine's stack is deeper
// than maxIncludeStack frames. It is per goroutine, as executions run
// concurrently, and costs a walk of the (normally short) stack.
func includeTooDeep() bool {
	var pc [1]uintptr
	return runtime.Callers(maxIncludeStack, pc[:]) > 0
}

type tooDeepErr string

func (e tooDeepErr) Error() string {
	return fmt.Sprintf("include %q: nested too deeply (does it include itself?)", string(e))
}

type limitErr struct{}

func (limitErr) Error() string {
	return fmt.Sprintf("output exceeds %d bytes", maxOutput)
}

// limitedBuffer refuses to grow past maxOutput.
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxOutput {
		return 0, limitErr{}
	}
	return b.Buffer.Write(p)
}
