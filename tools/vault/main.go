// Command vault is kube-pki's slim Vault dev server, a test tool for the e2e step vault only (never shipped).
//
// Vault's own main reaches its `command` package, which links every storage backend, seal, audit device, auth method
// and the Kubernetes service registration (client-go): about 1,900 packages even with -tags minimal. The step needs a
// dev server on loopback with the PKI engine (and transit, for the Vault-backed key work to come), so this main links
// only Vault's core (package vault), its HTTP API (package http), in-memory storage and those two engines, and does
// what `vault server -dev` does: initialise with one unseal key, unseal, make the root token the requested ID, serve.
//
//	vault server -dev -dev-listen-address=127.0.0.1:<port> -dev-root-token-id=<id> [-dev-no-store-token]
//	vault version
//
// Anything else is refused with a message naming the two commands. The root token is the caller's (it is never
// generated, printed or stored here); the listener is loopback only.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/builtin/logical/pki"
	"github.com/hashicorp/vault/builtin/logical/transit"
	"github.com/hashicorp/vault/helper/namespace"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/helper/consts"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical/inmem"
	"github.com/hashicorp/vault/vault"
	"github.com/hashicorp/vault/version"
)

const usage = "usage: vault server -dev -dev-listen-address=<loopback host:port> -dev-root-token-id=<id> [-dev-no-store-token] | vault version"

type devFlags struct {
	listen, rootToken string
}

func parseServerFlags(args []string) (devFlags, error) {
	f := devFlags{listen: "127.0.0.1:8200"}
	dev := false
	for _, a := range args {
		name, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "dev":
			dev = true
		case "dev-listen-address":
			f.listen = value
		case "dev-root-token-id":
			f.rootToken = value
		case "dev-no-store-token":
			// this server never writes a token helper file
		default:
			return f, fmt.Errorf("unsupported flag %q (kube-pki's slim dev server)", a)
		}
	}
	if !dev {
		return f, errors.New("only the dev server (-dev) is built in")
	}
	if f.rootToken == "" {
		return f, errors.New("-dev-root-token-id is required (this server never prints a generated token)")
	}
	host, _, err := net.SplitHostPort(f.listen)
	if err != nil {
		return f, fmt.Errorf("-dev-listen-address %q: %w", f.listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return f, fmt.Errorf("-dev-listen-address %q: the dev server listens on a loopback IP only", f.listen)
	}
	return f, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "version", "-version", "--version":
		fmt.Println(version.GetVersion().FullVersionNumber(true))
	case "server":
		f, err := parseServerFlags(os.Args[2:])
		if err != nil {
			fmt.Fprintf(os.Stderr, "vault: %v\n%s\n", err, usage)
			os.Exit(2)
		}
		if err := serve(f); err != nil {
			fmt.Fprintf(os.Stderr, "vault: %v\n", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
}

func serve(f devFlags) error {
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: hclog.Info, Output: os.Stderr})
	storage, err := inmem.NewInmem(nil, logger.Named("storage"))
	if err != nil {
		return err
	}
	core, err := vault.NewCore(&vault.CoreConfig{
		Physical:        storage,
		Logger:          logger,
		DisableMlock:    true,
		BuiltinRegistry: noPlugins{},
		LogicalBackends: map[string]logical.Factory{"pki": pki.Factory, "transit": transit.Factory},
		RedirectAddr:    "http://" + f.listen,
	})
	if err != nil {
		return fmt.Errorf("creating the core: %w", err)
	}
	defer core.Shutdown()
	if err := initDev(core, f.rootToken); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: vaulthttp.Handler.Handler(&vault.HandlerProperties{
			Core:           core,
			ListenerConfig: &configutil.Listener{Type: "tcp", Address: f.listen, TLSDisable: true},
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("dev server ready (kube-pki slim build: pki, transit)", "address", "http://"+f.listen, "version", version.GetVersion().FullVersionNumber(false))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// initDev initialises the core with one unseal key, unseals it, waits until it is active, creates the root token
// with the requested ID and revokes the generated one.
func initDev(core *vault.Core, rootTokenID string) error {
	ctx := namespace.RootContext(context.Background())
	init, err := core.Initialize(ctx, &vault.InitParams{
		BarrierConfig: &vault.SealConfig{Type: "shamir", SecretShares: 1, SecretThreshold: 1},
	})
	if err != nil {
		return fmt.Errorf("initialising: %w", err)
	}
	if unsealed, err := core.Unseal(init.SecretShares[0]); err != nil || !unsealed {
		return fmt.Errorf("unsealing (unsealed %t): %v", unsealed, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		active, _, _, err := core.Leader()
		if errors.Is(err, vault.ErrHANotEnabled) || (err == nil && active) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the core is not active after 30 s: %v", err)
		}
	}
	resp, err := core.HandleRequest(ctx, &logical.Request{
		Operation: logical.UpdateOperation, ClientToken: init.RootToken, Path: "auth/token/create",
		Data: map[string]any{"id": rootTokenID, "policies": []string{"root"}, "no_parent": true, "no_default_policy": true},
	})
	if err != nil || resp == nil || resp.Auth == nil {
		return fmt.Errorf("creating the requested root token: %v", err)
	}
	if _, err := core.HandleRequest(ctx, &logical.Request{
		Operation: logical.UpdateOperation, ClientToken: init.RootToken, Path: "auth/token/revoke-self",
	}); err != nil {
		return fmt.Errorf("revoking the generated root token: %w", err)
	}
	return nil
}

// noPlugins is the plugin catalog's view of built-in plugins: none beyond the engines linked in above.
type noPlugins struct{}

func (noPlugins) Contains(string, consts.PluginType) bool { return false }
func (noPlugins) Get(string, consts.PluginType) (func() (any, error), bool) {
	return nil, false
}
func (noPlugins) Keys(consts.PluginType) []string { return nil }
func (noPlugins) DeprecationStatus(string, consts.PluginType) (consts.DeprecationStatus, bool) {
	return consts.Unknown, false
}
func (noPlugins) IsBuiltinEntPlugin(string, consts.PluginType) bool { return false }
