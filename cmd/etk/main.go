// Command etk is the Elemental toolkit compiler.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/etk-build/etk/internal/cli"
)

func main() {
	// etk allocates a lot of short-lived YAML and template nodes and keeps
	// little: collecting less often makes planning a large tree a fifth
	// faster. GOGC, when set, still decides.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.New().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "etk:", err)
	}
	os.Exit(cli.ExitCode(err))
}
