//go:build linux

package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// finalizePath is the PATH of finalizer commands.
const finalizePath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Finalize runs the finalizer commands of ps, in the order given (the
// caller's dependency order), each package's in its own order, stopping
// at the first failure. A command runs as the last argument of the
// package's Shell (default "/bin/sh -c"), chrooted into the root unless
// the root is "/", in "/", with only PATH and ETK_ROOT set. ETK_ROOT is
// the root as the command sees it, so "/": finalizers need no prefix.
// Their output goes to the Output writer. Chrooting needs root (or
// CAP_SYS_CHROOT).
func (r *Root) Finalize(ctx context.Context, ps []Package) error {
	for _, p := range ps {
		for _, c := range p.Finalize {
			if err := r.run(ctx, p.Shell, c); err != nil {
				return fmt.Errorf("finalize %s: command %q: %w", p.ID, c, err)
			}
		}
	}
	return nil
}

func (r *Root) run(ctx context.Context, shell []string, command string) error {
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	name, err := r.lookPath(shell[0])
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, name, append(shell[1:len(shell):len(shell)], command)...)
	cmd.Args[0] = shell[0]
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + finalizePath, "ETK_ROOT=/"}
	cmd.Stdout, cmd.Stderr = r.opts.output, r.opts.output
	// Its own process group, so that cancelling kills what it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if r.dir != "/" {
		cmd.SysProcAttr.Chroot = r.dir
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd.Run()
}

// lookPath finds a shell given without a slash in the root's PATH: it is
// run inside the root, so the host's PATH says nothing about it.
func (r *Root) lookPath(name string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if r.dir == "/" {
		return exec.LookPath(name)
	}
	for _, d := range filepath.SplitList(finalizePath) {
		if _, err := os.Lstat(filepath.Join(r.dir, d, name)); err == nil {
			return filepath.Join(d, name), nil
		}
	}
	return "", fmt.Errorf("%s: not found in the root's %s", name, finalizePath)
}
