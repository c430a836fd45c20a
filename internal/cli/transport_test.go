package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/etk-build/etk/internal/faultproxy"
	"github.com/etk-build/etk/repository"
	"github.com/etk-build/etk/repository/dir"
	"github.com/etk-build/etk/repository/index"
	"github.com/etk-build/etk/repository/oci"
)

// basicAuth lets through requests with user and password, and asks the
// others for them, as a registry with an htpasswd file does.
func basicAuth(user, pass string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="etk-test"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// testRepo publishes a small signed repository to s and returns the
// public key file that trusts it.
func testRepo(t *testing.T, s repository.Store) string {
	t.Helper()
	d := t.TempDir()
	var entries []repository.Entry
	for i := range 2 {
		art := []byte(fmt.Sprintf("artefact %d", i))
		sum := sha256.Sum256(art)
		p := filepath.Join(d, fmt.Sprintf("a%d", i))
		if err := os.WriteFile(p, art, 0o644); err != nil {
			t.Fatal(err)
		}
		meta := fmt.Sprintf(`{"format":"etk-package/v1","id":"cat/p%d@1.0","category":"cat","name":"p%d","version":"1.0","key":"%064d","artefact":{"digest":"sha256:%s","size":%d}}`,
			i, i, i, hex.EncodeToString(sum[:]), len(art))
		entries = append(entries, repository.Entry{Metadata: []byte(meta), Artefact: p})
	}
	k, err := index.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(d, "etk.key")
	if err := index.WritePrivateKeyFile(keyFile, k); err != nil {
		t.Fatal(err)
	}
	if err := index.WritePublicKeyFile(keyFile+".pub", k.Public().(index.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if _, err := repository.Publish(t.Context(), s, entries, repository.PublishOptions{Name: "creds", Key: k, Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	return keyFile
}

// noSecret fails t when secret is in any of outs or any file under dirs.
func noSecret(t *testing.T, secret string, outs []string, dirs ...string) {
	t.Helper()
	for _, o := range outs {
		if strings.Contains(o, secret) {
			t.Errorf("the password is in the output:\n%s", o)
		}
	}
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), secret) {
					t.Errorf("the password is in %s", p)
				}
			}
			return nil
		})
	}
}

// credentialCases runs the commands that read and write a repository
// given as a URL with credentials, rightly and wrongly, and checks that
// neither password shows anywhere.
func credentialCases(t *testing.T, host, user, pass string) {
	repo := fmt.Sprintf("etk-test/creds-%d", time.Now().UnixNano())
	s, err := oci.NewStore(user+":"+pass+"@"+host+"/"+repo, oci.WithTransport(transport()))
	if err != nil {
		t.Fatal(err)
	}
	key := testRepo(t, s)
	wrong := "Wr0ng-" + pass[:4] + "-pw"
	good := fmt.Sprintf("oci://%s:%s@%s/%s", user, pass, host, repo)
	bad := fmt.Sprintf("oci://%s:%s@%s/%s", user, wrong, host, repo)
	work := t.TempDir()
	var outs []string
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"repo", "verify", "--repo", good, "--trust", key + ".pub"}, 0},
		{[]string{"repo", "list", "--repo", good, "--trust", key + ".pub"}, 0},
		{[]string{"repo", "show", "--repo", good, "--trust", key + ".pub"}, 0},
		{[]string{"channel", "publish", "--to", good, "--sign-key", key, "--name", "creds", "--version", "1", "etk/test:1@sha256:" + strings.Repeat("a", 64)}, 0},
		{[]string{"channel", "list", "--repo", good, "--trust", key + ".pub"}, 0},
		{[]string{"repo", "verify", "--repo", bad, "--trust", key + ".pub"}, 1},
		{[]string{"channel", "list", "--repo", bad, "--trust", key + ".pub"}, 1},
		{[]string{"channel", "publish", "--to", bad, "--sign-key", key, "--name", "creds", "--version", "2", "etk/test:2@sha256:" + strings.Repeat("b", 64)}, 1},
		{[]string{"repo", "verify", "--repo", "oci://" + user + ":" + wrong + "@" + host + "/BAD REPO", "--trust", key + ".pub"}, 1},
	} {
		out, errOut, code := run(t, work, c.args...)
		t.Logf("etk %s -> %d\n%s%s", shown(strings.Join(c.args, " ")), code, out, errOut)
		if code != c.code {
			t.Errorf("etk %s: exit %d, want %d\n%s", shown(strings.Join(c.args, " ")), code, c.code, errOut)
		}
		outs = append(outs, out, errOut)
	}
	noSecret(t, pass, outs, work)
	noSecret(t, wrong, outs, work)
}

// TestCredentialsInProcess: ggcr's registry behind basic auth.
func TestCredentialsInProcess(t *testing.T) {
	const user, pass = "bob", "S3cret-in-process-pw"
	srv := httptest.NewServer(basicAuth(user, pass, registry.New(registry.Logger(log.New(io.Discard, "", 0)))))
	defer srv.Close()
	credentialCases(t, strings.TrimPrefix(srv.URL, "http://"), user, pass)
}

// TestCredentialsAuthRegistry: Debian's docker-registry with an htpasswd
// file (.ci/services auth-registry); skipped without it, failed in CI.
func TestCredentialsAuthRegistry(t *testing.T) {
	const addr, user = "127.0.0.1:5001", "etk-ci"
	pass, err := os.ReadFile("/etc/etk/auth-registry.pass")
	resp, herr := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + addr + "/v2/")
	if herr == nil {
		resp.Body.Close()
	}
	if err != nil || herr != nil || resp.StatusCode != http.StatusUnauthorized {
		msg := fmt.Sprintf("no password-protected registry on %s (%v, %v)", addr, err, herr)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s; CI must start it: .ci/services auth-registry", msg)
		}
		t.Skipf("%s; start it with: sudo .ci/services install auth-registry", msg)
	}
	credentialCases(t, addr, user, strings.TrimSpace(string(pass)))
}

// TestCredentialsHTTP: a folder repository served over HTTPS-style basic
// auth (plain HTTP here), read with https://user:password@ URLs.
func TestCredentialsHTTP(t *testing.T) {
	const user, pass = "alice", "S3cret-http-pw"
	root := t.TempDir()
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	key := testRepo(t, s)
	srv := httptest.NewServer(basicAuth(user, pass, http.FileServer(http.Dir(root))))
	defer srv.Close()
	u := strings.Replace(srv.URL, "http://", "http://"+user+":"+pass+"@", 1) + "/"
	badU := strings.Replace(srv.URL, "http://", "http://"+user+":nope-"+pass+"@", 1) + "/"
	work := t.TempDir()
	var outs []string
	for _, c := range []struct {
		url  string
		code int
	}{{u, 0}, {badU, 1}} {
		out, errOut, code := run(t, work, "repo", "verify", "--repo", c.url, "--trust", key+".pub")
		t.Logf("-> %d %s%s", code, out, errOut)
		if code != c.code {
			t.Errorf("verify: exit %d, want %d: %s", code, c.code, errOut)
		}
		outs = append(outs, out, errOut)
	}
	noSecret(t, pass, outs, work)
}

// TestStallCLI: etk repo verify against a registry that stalls every
// answer fails in about a second with --net-header-timeout, naming the
// repository; with the default timeouts it would wait a minute.
func TestStallCLI(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	p, err := faultproxy.Start(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	s, err := oci.NewStore(p.Addr() + "/etk/stall")
	if err != nil {
		t.Fatal(err)
	}
	key := testRepo(t, s)
	for _, m := range []faultproxy.Mode{faultproxy.Stall, faultproxy.StallBody} {
		p.Set(faultproxy.Rule{Method: "GET", Path: "/blobs/", Mode: m})
		start := time.Now()
		_, errOut, code := run(t, "", "repo", "verify", "--repo", "oci://"+p.Addr()+"/etk/stall", "--trust", key+".pub",
			"--net-header-timeout", "200ms", "--net-idle-timeout", "200ms")
		took := time.Since(start)
		t.Logf("%s: exit %d after %.2fs: %s", m, code, took.Seconds(), errOut)
		if code != 1 || !strings.Contains(errOut, p.Addr()+"/etk/stall") || !strings.Contains(errOut, "stall:latest") {
			t.Errorf("%s: exit %d: %s", m, code, errOut)
		}
	}
	setTimeouts(netTimeoutsDefault())
}

func TestBadNetFlags(t *testing.T) {
	t.Setenv("ETK_NET_IDLE_TIMEOUT", "soon")
	if _, errOut, code := run(t, "", "repo", "list", "--repo", "x", "--trust", "y"); code != 2 || !strings.Contains(errOut, "ETK_NET_IDLE_TIMEOUT") {
		t.Errorf("bad env: exit %d: %s", code, errOut)
	}
	t.Setenv("ETK_NET_IDLE_TIMEOUT", "")
	if _, errOut, code := run(t, "", "repo", "list", "--repo", "x", "--trust", "y", "--net-idle-timeout", "-1s"); code != 2 {
		t.Errorf("negative: exit %d: %s", code, errOut)
	}
}

func TestPublishTTLZero(t *testing.T) {
	_, errOut, code := run(t, writeProject(t, small), "publish", "--to", t.TempDir(), "--ttl", "0s", "--sign-key", "nokey")
	if code != 2 || !strings.Contains(errOut, "--ttl 0s") {
		t.Errorf("--ttl 0s: exit %d: %s", code, errOut)
	}
}

// TestPublishToHTTP: a web server is read, never written; a publication
// to one is a usage error before any work, and nothing is published to the
// other destinations.
func TestPublishToHTTP(t *testing.T) {
	dir := writeProject(t, small)
	key := filepath.Join(t.TempDir(), "k")
	if _, errOut, code := run(t, dir, "repo", "keygen", "-o", key); code != 0 {
		t.Fatalf("keygen: %d %s", code, errOut)
	}
	folder := t.TempDir()
	const want = "http(s) repositories are read-only; publish to a folder or oci://"
	for _, args := range [][]string{
		{"publish", "--to", folder, "--to", "https://user:secret@example.invalid/repo", "--sign-key", key},
		{"channel", "publish", "--to", folder, "--to", "http://example.invalid/repo", "--sign-key", key, "--version", "1", "etk/test:1@sha256:" + strings.Repeat("0", 64)},
	} {
		_, errOut, code := run(t, dir, args...)
		if code != 2 || !strings.Contains(errOut, want) || strings.Contains(errOut, "secret") {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q, no password", args[0], code, errOut, want)
		}
		if refs, _ := os.ReadDir(filepath.Join(folder, "refs")); len(refs) != 0 {
			t.Errorf("%s: the folder was published to: %v", args[0], refs)
		}
	}
}

func TestShown(t *testing.T) {
	for in, want := range map[string]string{
		"oci://bob:pw@host:5000/etk/x":        "oci://REDACTED@host:5000/etk/x",
		"oci://bob:p/w@host/etk/x":            "oci://REDACTED@host/etk/x",
		"oci://host/etk/x@sha256:00":          "oci://host/etk/x@sha256:00",
		"https://bob:pw@example.com/etk/":     "https://bob:xxxxx@example.com/etk/",
		"/srv/etk/repo":                       "/srv/etk/repo",
		"oci://bob:pw@host/etk/x@sha256:00ff": "oci://REDACTED@host/etk/x@sha256:00ff",
	} {
		if got := shown(in); got != want {
			t.Errorf("shown(%q) = %q, want %q", in, got, want)
		}
	}
	if got := repository.WithoutCredentials("oci://bob:pw@host/etk/x"); got != "oci://host/etk/x" {
		t.Errorf("withoutUser: %q", got)
	}
}

// TestLeftoverReports: etk cache status and clean, and etk repo verify
// of a folder, report what dead runs left.
func TestLeftoverReports(t *testing.T) {
	cacheDir := t.TempDir()
	if _, _, code := run(t, "", "cache", "status", "--cache-dir", cacheDir); code != 0 {
		t.Fatal("status of an empty cache failed")
	}
	dead := filepath.Join(cacheDir, "tmp", "run-x")
	os.MkdirAll(dead, 0o755)
	os.WriteFile(filepath.Join(dead, ".etk-save-1.tar"), make([]byte, 2<<20), 0o644)
	out, _, code := run(t, "", "cache", "status", "--cache-dir", cacheDir)
	if code != 0 || !strings.Contains(out, "run "+dead+" 2.0 MiB: dead") {
		t.Errorf("status: %d %q", code, out)
	}
	out, _, code = run(t, "", "cache", "clean", "--cache-dir", cacheDir)
	if _, err := os.Stat(dead); code != 0 || !os.IsNotExist(err) || !strings.Contains(out, "removed "+dead) {
		t.Errorf("clean: %d %q %v", code, out, err)
	}

	root := t.TempDir()
	s, err := dir.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	key := testRepo(t, s)
	os.WriteFile(filepath.Join(root, ".tmp", "blob-1234"), make([]byte, 1<<20), 0o644)
	_, errOut, code := run(t, "", "repo", "verify", "--repo", root, "--trust", key+".pub")
	if code != 0 || !strings.Contains(errOut, ".tmp holds 1 file(s), 1.0 MiB, left by publishes that died") {
		t.Errorf("verify: %d %q", code, errOut)
	}
}
