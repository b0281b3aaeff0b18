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

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func info(t *testing.T, dir string, options map[string]any) *pulumirpc.ProgramInfo {
	t.Helper()
	opts, err := structpb.NewStruct(options)
	if err != nil {
		t.Fatal(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: ".", Options: opts}
}

// A virtualenv whose bin/python is a shell script that records its arguments and the run's environment.
func recorderVenv(t *testing.T, dir string, exitCode string) string {
	write(t, filepath.Join(dir, "venv", "bin", "python"), `#!/bin/sh
out="$(dirname "$0")/../../recorded"
: > "$out"
for a in "$@"; do printf '%s\036' "$a" >> "$out"; done
printf 'ENV PULUMI_CONFIG=%s\nENV PULUMI_CONFIG_SECRET_KEYS=%s\nENV VIRTUAL_ENV=%s\n' "$PULUMI_CONFIG" "$PULUMI_CONFIG_SECRET_KEYS" "$VIRTUAL_ENV" >> "$out"
exit `+exitCode+"\n", 0o755)
	return filepath.Join(dir, "recorded")
}

func TestRunPassesTheRunParametersToTheRunnerWithTheVirtualenvsPython(t *testing.T) {
	dir := t.TempDir()
	recorded := recorderVenv(t, dir, "0")
	h := &pyHost{}
	h.SetEngine("127.0.0.1:4000")
	resp, err := h.Run(context.Background(), &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:5000", Project: "p", Stack: "s", Organization: "o", DryRun: true, Parallel: 4,
		Config: map[string]string{"p:endpoint": "10.0.0.1:6443"}, ConfigSecretKeys: []string{"p:token"},
		Info: info(t, dir, map[string]any{"virtualenv": "venv"}), Args: []string{"extra"},
	})
	if err != nil || resp.GetError() != "" || resp.GetBail() {
		t.Fatalf("Run: %v %+v", err, resp)
	}
	data, err := os.ReadFile(recorded)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\x1e")
	if lines[0] != "-c" || !strings.Contains(lines[1], "run_in_stack") {
		t.Fatalf("python was not given the runner with -c: %q", lines[:2])
	}
	got := strings.Join(lines[2:], " ")
	for _, want := range []string{
		"--monitor 127.0.0.1:5000", "--engine 127.0.0.1:4000", "--organization o", "--project p", "--stack s",
		"--root-directory " + dir, "--parallel 4", "--dry-run " + filepath.Join(dir, ".") + " extra",
		`ENV PULUMI_CONFIG={"p:endpoint":"10.0.0.1:6443"}`, `ENV PULUMI_CONFIG_SECRET_KEYS=["p:token"]`,
		"ENV VIRTUAL_ENV=" + filepath.Join(dir, "venv"),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %q", want, got)
		}
	}
}

func TestRunReportsExitCodesAndAMissingVirtualenv(t *testing.T) {
	dir := t.TempDir()
	recorderVenv(t, dir, "32")
	h := &pyHost{}
	resp, _ := h.Run(context.Background(), &pulumirpc.RunRequest{Info: info(t, dir, map[string]any{"virtualenv": "venv"})})
	if !resp.GetBail() {
		t.Errorf("exit 32 must bail: %+v", resp)
	}
	recorderVenv(t, dir, "3")
	resp, _ = h.Run(context.Background(), &pulumirpc.RunRequest{Info: info(t, dir, map[string]any{"virtualenv": "venv"})})
	if !strings.Contains(resp.GetError(), "exit code: 3") {
		t.Errorf("exit 3: %+v", resp)
	}
	resp, _ = h.Run(context.Background(), &pulumirpc.RunRequest{Info: info(t, dir, map[string]any{"virtualenv": "nope"})})
	if !strings.Contains(resp.GetError(), "python3 -m venv") {
		t.Errorf("a missing virtualenv must say how to make it: %+v", resp)
	}
}

// The runner itself, with the machine's python3: bad flags end it with argparse's usage error (exit 2), a
// directory without __main__.py is refused before anything runs. Skipped only when python3 is absent.
func TestRunnerParsesItsFlags(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(mustLookPath(t, "python3"), filepath.Join(dir, "python")); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "venv", "bin", "python"), "#!/bin/sh\nexec "+filepath.Join(dir, "python")+" \"$@\"\n", 0o755)
	h := &pyHost{}
	resp, _ := h.Run(context.Background(), &pulumirpc.RunRequest{Info: info(t, dir, map[string]any{"virtualenv": "venv"})})
	if !strings.Contains(resp.GetError(), "exit code: 2") {
		t.Errorf("the runner without --monitor must fail argparse's way (exit 2): %+v", resp)
	}
}

func mustLookPath(t *testing.T, name string) string {
	t.Helper()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s is not on the PATH (the host's tests need it, as the consumer-python step does)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestLinkAddsTheSdkToRequirementsOnceAndGetRequiredPackagesFindsItInstalled(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "requirements.txt"), "pulumi==3.248.0\n", 0o644)
	plugin := `{"resource": true, "name": "kube-pki", "version": "0.3.0"}`
	write(t, filepath.Join(dir, "sdks", "kube-pki", "pulumi_kube_pki", "pulumi-plugin.json"), plugin, 0o644)
	h := &pyHost{}
	req := &pulumirpc.LinkRequest{
		Info:     info(t, dir, nil),
		Packages: []*pulumirpc.LinkRequest_LinkDependency{{Path: "sdks/kube-pki", Package: &pulumirpc.PackageDependency{Name: "kube-pki"}}},
	}
	for i := 0; i < 2; i++ {
		resp, err := h.Link(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.GetImportInstructions(), "import pulumi_kube_pki") {
			t.Errorf("instructions: %q", resp.GetImportInstructions())
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "requirements.txt"))
	if string(data) != "pulumi==3.248.0\n./sdks/kube-pki\n" {
		t.Errorf("requirements.txt: %q", data)
	}
	// as pip installs it into the virtualenv
	write(t, filepath.Join(dir, "venv", "lib", "python3.11", "site-packages", "pulumi_kube_pki", "pulumi-plugin.json"), plugin, 0o644)
	write(t, filepath.Join(dir, "venv", "lib", "python3.11", "site-packages", "other", "pulumi-plugin.json"), `{"resource": false}`, 0o644)
	pkgs, err := h.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{Info: info(t, dir, map[string]any{"virtualenv": "venv"})})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(pkgs.GetPackages())
	if len(pkgs.GetPackages()) != 1 || pkgs.GetPackages()[0].GetName() != "kube-pki" || pkgs.GetPackages()[0].GetVersion() != "v0.3.0" {
		t.Errorf("required packages: %s", got)
	}
}

func TestLinkRefusesSdksOutsideTheProgramOrWithoutAPackage(t *testing.T) {
	dir := t.TempDir()
	h := &pyHost{}
	for _, p := range []string{"../elsewhere", "sdks/empty"} {
		_, err := h.Link(context.Background(), &pulumirpc.LinkRequest{
			Info: info(t, dir, nil), Packages: []*pulumirpc.LinkRequest_LinkDependency{{Path: p, Package: &pulumirpc.PackageDependency{Name: "x"}}},
		})
		if err == nil {
			t.Errorf("Link %s: no error", p)
		}
	}
	if fileExists(filepath.Join(dir, "requirements.txt")) {
		t.Error("a refused Link wrote requirements.txt")
	}
}
