# kube-pki's entry into the pulumi Python SDK, run by pulumi-language-python as `python -c <this> <flags> <program>`.
#
# Written for this project against the SDK's public runtime API: pulumi.runtime.settings.configure() takes the run
# parameters (monitor and engine addresses, project, stack, ...), pulumi.runtime.stack.run_in_stack() runs a
# function inside the root Stack resource and waits for every outstanding registration. The configuration arrives in
# PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS, which pulumi.Config reads by itself. A failure is logged to the engine
# and ends with exit code 32, which tells the host (and the engine) the error was already reported.
import argparse
import asyncio
import os
import runpy
import sys
import traceback

LOGGED_ERROR = 32


def parse(argv):
    p = argparse.ArgumentParser(prog="pulumi-language-python runner")
    p.add_argument("--monitor", required=True)
    p.add_argument("--engine", required=True)
    p.add_argument("--organization")
    p.add_argument("--project", required=True)
    p.add_argument("--stack", required=True)
    p.add_argument("--root-directory")
    p.add_argument("--parallel", type=int)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("program")
    p.add_argument("args", nargs=argparse.REMAINDER)
    return p.parse_args(argv)


def main(argv):
    opts = parse(argv)
    import pulumi
    from pulumi.runtime import settings, stack

    settings.configure(
        settings.Settings(
            project=opts.project,
            stack=opts.stack,
            monitor=opts.monitor,
            engine=opts.engine,
            parallel=opts.parallel,
            dry_run=opts.dry_run,
            organization=opts.organization,
            root_directory=opts.root_directory,
        )
    )
    program = os.path.abspath(opts.program)
    home = program if os.path.isdir(program) else os.path.dirname(program)
    if os.path.isdir(program) and not os.path.exists(os.path.join(program, "__main__.py")):
        pulumi.log.error(f"{program} has no __main__.py: a Python Pulumi program is __main__.py in the project "
                         "directory (or Pulumi.yaml `main:` names the file)")
        return LOGGED_ERROR
    sys.path.insert(0, home)  # the program imports its own modules as `python <program>` would let it
    sys.argv = [program, *opts.args]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(stack.run_in_stack(lambda: runpy.run_path(program, run_name="__main__")))
    except pulumi.RunError as e:
        pulumi.log.error(str(e))
        return LOGGED_ERROR
    except Exception:  # a bug in the program: its traceback, once, through the engine
        pulumi.log.error("Program failed with an unhandled exception:\n" + traceback.format_exc())
        return LOGGED_ERROR
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
