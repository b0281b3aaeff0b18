package hostkit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestRunProgramAnswersTheEngineByExitCode(t *testing.T) {
	for _, c := range []struct {
		script string
		want   *pulumirpc.RunResponse
	}{
		{"exit 0", &pulumirpc.RunResponse{}},
		{"exit 32", &pulumirpc.RunResponse{Bail: true}},
		{"exit 3", &pulumirpc.RunResponse{Error: "program exited with non-zero exit code: 3"}},
	} {
		got := RunProgram(context.Background(), exec.Command("/bin/sh", "-c", c.script), "sh")
		if got.GetBail() != c.want.GetBail() || got.GetError() != c.want.GetError() {
			t.Errorf("%s: got %+v, want %+v", c.script, got, c.want)
		}
	}
	if got := RunProgram(context.Background(), exec.Command(filepath.Join(t.TempDir(), "missing")), "the program missing"); got.GetError() == "" {
		t.Errorf("a program that cannot start: got %+v", got)
	}
}

func TestRunProgramInterruptsTheProgramWhenTheEngineGivesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	// the program reports SIGINT by exiting 7; it would otherwise loop until killed
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command("/bin/sh", "-c", "trap 'exit 7' INT; : > \"$0\"; while :; do sleep 0.1; done", ready)
	done := make(chan *pulumirpc.RunResponse)
	go func() { done <- RunProgram(ctx, cmd, "sh") }()
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("exited before the cancel: %+v", r)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if got := <-done; got.GetError() != "program exited with non-zero exit code: 7" {
		t.Errorf("got %+v, want the program's own exit after SIGINT", got)
	}
}

func TestWriteFilesWritesTheSDKTree(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFiles(dir, map[string][]byte{"a/b/c.py": []byte("x"), "d.txt": []byte("y")}); err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{"a/b/c.py": "x", "d.txt": "y"} {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v", rel, got, err)
		}
	}
}

func TestBaseAnswersHandshakeAndPluginInfoWithoutAnEngine(t *testing.T) {
	b := &Base{Version: "v1.2.3"}
	if _, err := b.Handshake(context.Background(), &pulumirpc.LanguageHandshakeRequest{EngineAddress: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if b.Engine() != "127.0.0.1:1" {
		t.Errorf("engine %q", b.Engine())
	}
	info, _ := b.GetPluginInfo(context.Background(), nil)
	if info.GetVersion() != "v1.2.3" || WithV("3.248.0") != "v3.248.0" || WithV("v1") != "v1" {
		t.Errorf("version %q", info.GetVersion())
	}
}
