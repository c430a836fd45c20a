package dockerfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"text/template"

	"github.com/etk-build/etk/templates"
)

// Template file names.
const (
	BuilderTemplate = "builder.Dockerfile.tmpl"
	PackageTemplate = "package.Dockerfile.tmpl"
)

// Data is what the templates see.
type Data struct {
	Category, Name, Version string
	// From is the builder's base: an image, a dependency's package image,
	// or "scratch".
	From string
	// Layers are images whose whole content is copied onto From, in order:
	// the artefacts of further build requires, or of a final-image closure.
	Layers []string
	// Builder is the builder image the package image starts from.
	Builder  string
	Retrieve []string
	Copy     []Copy
	Env      []string
	Prelude  []string
	Steps    []string
}

// Copy is a COPY --from instruction.
type Copy struct {
	From, Source, Destination string
}

// Templates are the Dockerfile templates in use.
type Templates struct {
	builder, pkg *template.Template
	digest       string
	sources      map[string][]byte
}

// Load returns the default templates, each overridden by a file of the same
// name in override when override is not nil.
func Load(override fs.FS, overrideName string) (*Templates, error) {
	t := &Templates{sources: map[string][]byte{}}
	h := sha256.New()
	for _, name := range []string{BuilderTemplate, PackageTemplate} {
		src, err := fs.ReadFile(templates.FS, name)
		if err != nil {
			return nil, err
		}
		shown := "templates/" + name + " (built in)"
		if override != nil {
			if b, err := fs.ReadFile(override, name); err == nil {
				src, shown = b, overrideName+"/"+name
			}
		}
		tt, err := template.New(shown).Funcs(template.FuncMap{"run": Run}).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("dockerfile template: %w", err)
		}
		t.sources[name] = src
		fmt.Fprintf(h, "%s %d\n", name, len(src))
		h.Write(src)
		if name == BuilderTemplate {
			t.builder = tt
		} else {
			t.pkg = tt
		}
	}
	t.digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return t, nil
}

// Digest identifies the templates' bytes; it is an input of every key.
func (t *Templates) Digest() string { return t.digest }

// Names lists the template files.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.sources))
	for n := range t.sources {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Render returns the builder and package Dockerfiles for d.
func (t *Templates) Render(d Data) (builder, pkg []byte, err error) {
	var b, p bytes.Buffer
	if err := t.builder.Execute(&b, d); err != nil {
		return nil, nil, fmt.Errorf("render builder Dockerfile: %w", err)
	}
	if err := t.pkg.Execute(&p, d); err != nil {
		return nil, nil, fmt.Errorf("render package Dockerfile: %w", err)
	}
	return ensureNewline(b.Bytes()), ensureNewline(p.Bytes()), nil
}

func ensureNewline(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}

// Run renders a spec command as a RUN instruction. One-line commands, and
// multi-line ones whose lines are continued with a backslash, keep luet's
// shell form; any other multi-line command (a heredoc, a script) uses the
// exec form with /bin/sh -c, which keeps its newlines intact.
func Run(cmd string) string {
	cmd = strings.TrimRight(cmd, "\n")
	if !strings.Contains(cmd, "\n") {
		return "RUN " + cmd
	}
	lines := strings.Split(cmd, "\n")
	continued := true
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasSuffix(strings.TrimRight(l, " \t"), `\`) {
			continued = false
			break
		}
	}
	if continued {
		return "RUN " + cmd
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode([]string{"/bin/sh", "-c", cmd})
	return "RUN " + strings.TrimSuffix(b.String(), "\n")
}
