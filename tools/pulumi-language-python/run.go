package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"kube-pki/tools/hostkit"
)

// runner is our entry into the pulumi Python SDK (runner.py): it configures pulumi.runtime from its flags and runs
// the program inside the stack resource. Embedded and passed with `python -c`, so no file is installed beside us.
//
//go:embed runner.py
var runner string

// virtualenvDir is runtime.options.virtualenv resolved against the project's root directory ("" when unset).
func virtualenvDir(info *pulumirpc.ProgramInfo) string {
	venv := hostkit.StringOption(info, "virtualenv")
	if venv == "" || filepath.IsAbs(venv) {
		return venv
	}
	root := info.GetRootDirectory()
	if root == "" {
		root = hostkit.ProgramDir(info, "")
	}
	return filepath.Join(root, venv)
}

// pythonFor is the python that runs the program: the virtualenv's (runtime.options.virtualenv), else python3 on
// the PATH.
func pythonFor(info *pulumirpc.ProgramInfo) (string, error) {
	if venv := virtualenvDir(info); venv != "" {
		py := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(py); err != nil {
			return "", fmt.Errorf("the virtualenv %s (Pulumi.yaml runtime.options.virtualenv) has no bin/python: "+
				"create it with `python3 -m venv %s` or `pulumi install`", venv, venv)
		}
		return py, nil
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", fmt.Errorf("could not find python3 on the $PATH (or set runtime.options.virtualenv in Pulumi.yaml): %w", err)
	}
	return py, nil
}

// venvEnv is env as `source <venv>/bin/activate` leaves it: VIRTUAL_ENV set, its bin/ first on the PATH.
func venvEnv(env []string, venv string) []string {
	if venv == "" {
		return env
	}
	path := os.Getenv("PATH")
	return append(env, "VIRTUAL_ENV="+venv, "PATH="+filepath.Join(venv, "bin")+string(os.PathListSeparator)+path)
}

// runArgs are runner.py's flags: the engine's run parameters, then the program's entry point and arguments.
func (h *pyHost) runArgs(req *pulumirpc.RunRequest, dir string) []string {
	args := []string{}
	add := func(flag, value string) {
		if value != "" {
			args = append(args, "--"+flag, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.Engine())
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("root-directory", req.GetInfo().GetRootDirectory())
	if req.GetParallel() > 0 {
		add("parallel", strconv.Itoa(int(req.GetParallel())))
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = req.GetProgram()
	}
	if entry == "" {
		entry = "."
	}
	if !filepath.IsAbs(entry) {
		entry = filepath.Join(dir, entry)
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// Run runs the program with the virtualenv's python through runner.py; the configuration goes in PULUMI_CONFIG and
// PULUMI_CONFIG_SECRET_KEYS, where pulumi.Config reads it. Exit code 32 means the program already reported its error
// to the engine: the engine is told to bail without another message.
func (h *pyHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	dir := hostkit.ProgramDir(req.GetInfo(), req.GetPwd())
	py, err := pythonFor(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	configJSON, secretJSON, err := hostkit.RunConfig(req)
	if err != nil {
		return nil, err
	}
	env := venvEnv(os.Environ(), virtualenvDir(req.GetInfo()))
	env = append(env, "PULUMI_CONFIG="+configJSON, "PULUMI_CONFIG_SECRET_KEYS="+secretJSON,
		"PYTHONUNBUFFERED=1")

	cmd := exec.Command(py, append([]string{"-c", runner}, h.runArgs(req, dir)...)...)
	cmd.Dir = req.GetPwd()
	if cmd.Dir == "" {
		cmd.Dir = dir
	}
	cmd.Env = env
	return hostkit.RunProgram(ctx, cmd, py), nil
}
