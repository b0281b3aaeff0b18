package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A program that records the run parameters it got from the environment and exits with $PROGRAM_EXIT.
const recorder = `package main

import (
	"encoding/json"
	"os"
	"strconv"
)

func main() {
	got := map[string]string{}
	for _, k := range []string{"PULUMI_MONITOR", "PULUMI_ENGINE", "PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_ORGANIZATION",
		"PULUMI_ROOT_DIRECTORY", "PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_DRY_RUN", "PULUMI_PARALLEL"} {
		got[k] = os.Getenv(k)
	}
	b, _ := json.Marshal(got)
	if err := os.WriteFile("run.json", b, 0o600); err != nil {
		panic(err)
	}
	code, _ := strconv.Atoi(os.Getenv("PROGRAM_EXIT"))
	os.Exit(code)
}
`

func recorderProgram(t *testing.T) string {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module recorder\n\ngo 1.25\n")
	write(t, filepath.Join(dir, "main.go"), recorder)
	return dir
}

func runRequest(dir string, options map[string]any) *pulumirpc.RunRequest {
	opts, _ := structpb.NewStruct(options)
	return &pulumirpc.RunRequest{
		Pwd: dir, MonitorAddress: "127.0.0.1:1111", Project: "consumer-go", Stack: "dev", Organization: "organization",
		Config:           map[string]string{"consumer-go:endpoint": "127.0.0.1:6443", "consumer-go:token": "s3cret"},
		ConfigSecretKeys: []string{"consumer-go:token"}, DryRun: true, Parallel: 7,
		Info: &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: ".", Options: opts},
	}
}

func TestRunBuildsTheProgramAndPassesTheRunParameters(t *testing.T) {
	dir := recorderProgram(t)
	h := &goHost{}
	if _, err := h.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "127.0.0.1:2222"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PROGRAM_EXIT", "0")
	resp, err := h.Run(context.Background(), runRequest(dir, nil))
	if err != nil || resp.GetError() != "" || resp.GetBail() {
		t.Fatalf("Run: %v %+v", err, resp)
	}
	var got map[string]string
	data, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"PULUMI_MONITOR": "127.0.0.1:1111", "PULUMI_ENGINE": "127.0.0.1:2222", "PULUMI_PROJECT": "consumer-go",
		"PULUMI_STACK": "dev", "PULUMI_ORGANIZATION": "organization", "PULUMI_ROOT_DIRECTORY": dir,
		"PULUMI_CONFIG":             `{"consumer-go:endpoint":"127.0.0.1:6443","consumer-go:token":"s3cret"}`,
		"PULUMI_CONFIG_SECRET_KEYS": `["consumer-go:token"]`, "PULUMI_DRY_RUN": "true", "PULUMI_PARALLEL": "7",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "program")); err == nil {
		t.Error("the temporary binary was built into the program directory")
	}
}

func TestRunReportsExitCodes(t *testing.T) {
	dir := recorderProgram(t)
	h := &goHost{}
	t.Setenv("PROGRAM_EXIT", "32") // the SDK logged the error already
	resp, err := h.Run(context.Background(), runRequest(dir, map[string]any{"buildTarget": "bin/program"}))
	if err != nil || !resp.GetBail() || resp.GetError() != "" {
		t.Fatalf("exit 32: want bail, got %v %+v", err, resp)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin/program")); err != nil {
		t.Errorf("buildTarget not kept: %v", err)
	}
	t.Setenv("PROGRAM_EXIT", "3")
	resp, err = h.Run(context.Background(), runRequest(dir, map[string]any{"binary": "bin/program"}))
	if err != nil || resp.GetBail() || !strings.Contains(resp.GetError(), "exit code: 3") {
		t.Fatalf("exit 3: want an error naming the code, got %v %+v", err, resp)
	}
}

func TestRunReportsBuildErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module broken\n\ngo 1.25\n")
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() { undefinedThing() }\n")
	resp, err := (&goHost{}).Run(context.Background(), runRequest(dir, nil))
	if err != nil || !strings.Contains(resp.GetError(), "go build") {
		t.Fatalf("want a go build error, got %v %+v", err, resp)
	}
}

// sdkProgram is a program directory with an SDK as `pulumi package add` leaves it before Link.
func sdkProgram(t *testing.T) string {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module consumer-go\n\ngo 1.25\n")
	write(t, filepath.Join(dir, "sdks/kube-pki-kube-pki/go.mod"), "module github.com/kube-pki/pulumi-kube-pki/sdk/go\n\ngo 1.25\n")
	write(t, filepath.Join(dir, "sdks/kube-pki-kube-pki/kubepki/pulumi-plugin.json"), `{"resource": true, "name": "kube-pki", "version": "0.3.0"}`)
	write(t, filepath.Join(dir, "sdks/kube-pki-kube-pki/kubepki/doc.go"), "package kubepki\n")
	return dir
}

func TestLinkReplacesTheSdkModuleAndGetRequiredPackagesFindsIt(t *testing.T) {
	dir := sdkProgram(t)
	h := &goHost{}
	info := &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: "."}
	resp, err := h.Link(context.Background(), &pulumirpc.LinkRequest{Info: info, Packages: []*pulumirpc.LinkRequest_LinkDependency{
		{Path: "sdks/kube-pki-kube-pki", Package: &pulumirpc.PackageDependency{Name: "kube-pki", Kind: "resource"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.GetImportInstructions(), `"github.com/kube-pki/pulumi-kube-pki/sdk/go/kubepki"`) {
		t.Errorf("instructions: %s", resp.GetImportInstructions())
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(gomod), "replace github.com/kube-pki/pulumi-kube-pki/sdk/go => ./sdks/kube-pki-kube-pki") {
		t.Fatalf("go.mod:\n%s", gomod)
	}

	// as after go mod tidy: the program requires the SDK's module
	write(t, filepath.Join(dir, "go.mod"), string(gomod)+"\nrequire github.com/kube-pki/pulumi-kube-pki/sdk/go v0.0.0-00010101000000-000000000000\n")
	pkgs, err := h.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{Info: info})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs.GetPackages()) != 1 {
		t.Fatalf("packages: %+v", pkgs.GetPackages())
	}
	if p := pkgs.GetPackages()[0]; p.GetName() != "kube-pki" || p.GetVersion() != "v0.3.0" || p.GetKind() != "resource" {
		t.Errorf("package: %+v", p)
	}
}

func TestLinkRefusesSdksOutsideTheProgram(t *testing.T) {
	dir := sdkProgram(t)
	info := &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: "."}
	for _, p := range []string{"../elsewhere", "/tmp/sdk", "sdks/missing"} {
		_, err := (&goHost{}).Link(context.Background(), &pulumirpc.LinkRequest{Info: info, Packages: []*pulumirpc.LinkRequest_LinkDependency{
			{Path: p, Package: &pulumirpc.PackageDependency{Name: "kube-pki"}},
		}})
		if err == nil {
			t.Errorf("Link %s: no error", p)
		}
	}
}

func TestGetRequiredPackagesIsLenientWithoutGoMod(t *testing.T) {
	dir := t.TempDir()
	resp, err := (&goHost{}).GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir},
	})
	if err != nil || len(resp.GetPackages()) != 0 {
		t.Fatalf("%v %+v", err, resp)
	}
}
